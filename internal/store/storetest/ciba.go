package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var cibaTests = []test{
	{"OAuth/CIBA/CRUD", testCIBARequests},
	{"OAuth/CIBA/ConcurrentPolls", testCIBAConcurrent},
	{"OAuth/CIBA/ClientMetadata", testCIBAClientMetadata},
}

func mkCIBA(t *testing.T, s store.Repos, f oauthFixture, label string, opts ...func(*store.CIBARequest)) *store.CIBARequest {
	t.Helper()
	c := &store.CIBARequest{ID: newID(), Tenant: f.tn, AuthReqHash: h("ar " + label), ApprovalHash: h("ap " + label),
		ClientID: f.client.ID, UserID: f.user.ID, Scopes: []string{"openid"}, BindingMessage: "Pay 42",
		CreatedAt: time.Now(), ExpiresAt: later()}
	for _, o := range opts {
		o(c)
	}
	noErr(t, "CreateCIBARequest("+label+")", s.OAuth().CIBA().CreateCIBARequest(ctx(t), c))
	return c
}

func testCIBARequests(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	cr := s.OAuth().CIBA()
	c := mkCIBA(t, s, f, "one", func(x *store.CIBARequest) { x.NotificationToken = []byte("sealed"); x.ACRValues = []string{"mfa"} })
	if c.State != "pending" {
		t.Errorf("CreateCIBARequest: State %q, want pending", c.State)
	}
	for name, get := range map[string]func() (*store.CIBARequest, error){
		"GetCIBARequest":    func() (*store.CIBARequest, error) { return cr.GetCIBARequest(ctx(t), f.tn, c.ID) },
		"GetCIBAByAuthReq":  func() (*store.CIBARequest, error) { return cr.GetCIBAByAuthReq(ctx(t), f.tn, h("ar one")) },
		"GetCIBAByApproval": func() (*store.CIBARequest, error) { return cr.GetCIBAByApproval(ctx(t), f.tn, h("ap one")) },
	} {
		got, err := get()
		noErr(t, name, err)
		same(t, name, got, c)
	}
	// Nobody: the hint named no user; the request is kept all the same.
	mkCIBA(t, s, f, "nobody", func(x *store.CIBARequest) { x.UserID = "" })
	wantErr(t, "CreateCIBARequest(hash taken)", cr.CreateCIBARequest(ctx(t), &store.CIBARequest{ID: newID(), Tenant: f.tn,
		AuthReqHash: h("ar one"), ApprovalHash: h("x"), ClientID: f.client.ID, CreatedAt: time.Now(), ExpiresAt: later()}), store.ErrConflict)
	wantErr(t, "CreateCIBARequest(unknown client)", cr.CreateCIBARequest(ctx(t), &store.CIBARequest{ID: newID(), Tenant: f.tn,
		AuthReqHash: h("y"), ApprovalHash: h("z"), ClientID: "nope", CreatedAt: time.Now(), ExpiresAt: later()}), store.ErrNotFound)
	wantErr(t, "CreateCIBARequest(unknown user)", cr.CreateCIBARequest(ctx(t), &store.CIBARequest{ID: newID(), Tenant: f.tn,
		AuthReqHash: h("y"), ApprovalHash: h("z"), ClientID: f.client.ID, UserID: newID(), CreatedAt: time.Now(), ExpiresAt: later()}), store.ErrNotFound)

	authAt := time.Now().Add(-time.Second)
	up, err := cr.UpdateCIBARequest(ctx(t), f.tn, c.ID, func(x *store.CIBARequest) error {
		x.State, x.SessionID, x.AuthTime, x.AMR = "approved", f.session.ID, authAt, []string{"pwd", "otp"}
		return nil
	})
	noErr(t, "UpdateCIBARequest", err)
	got, err := cr.GetCIBAByAuthReq(ctx(t), f.tn, h("ar one"))
	noErr(t, "GetCIBAByAuthReq(updated)", err)
	same(t, "updated CIBA request", got, up)
	if _, err := cr.UpdateCIBARequest(ctx(t), f.tn, c.ID, func(x *store.CIBARequest) error { x.ApprovalHash = h("other"); return nil }); err == nil {
		t.Error("UpdateCIBARequest let the closure change the approval hash")
	}
	if _, err := cr.UpdateCIBARequest(ctx(t), f.tn, c.ID, func(x *store.CIBARequest) error { x.State = "maybe"; return nil }); err == nil {
		t.Error("UpdateCIBARequest accepted an unknown state")
	}
	_, err = cr.UpdateCIBARequest(ctx(t), f.tn, c.ID, func(x *store.CIBARequest) error { x.Done = true; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateCIBARequest: closure error came back as %v", err)
	}

	// Expired: hidden everywhere.
	old := mkCIBA(t, s, f, "old", func(x *store.CIBARequest) { x.ExpiresAt = earlier() })
	_, err = cr.GetCIBARequest(ctx(t), f.tn, old.ID)
	wantErr(t, "GetCIBARequest(expired)", err, store.ErrNotFound)
	_, err = cr.GetCIBAByApproval(ctx(t), f.tn, h("ap old"))
	wantErr(t, "GetCIBAByApproval(expired)", err, store.ErrNotFound)
	_, err = cr.UpdateCIBARequest(ctx(t), f.tn, old.ID, func(*store.CIBARequest) error { t.Error("closure called for an expired request"); return nil })
	wantErr(t, "UpdateCIBARequest(expired)", err, store.ErrNotFound)

	// Another tenant sees nothing.
	g := mkFixture(t, s)
	_, err = s.OAuth().CIBA().GetCIBAByAuthReq(ctx(t), g.tn, h("ar one"))
	wantErr(t, "GetCIBAByAuthReq(other tenant)", err, store.ErrNotFound)
	// Deleting the user removes the requests naming them.
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), f.tn, f.user.ID))
	_, err = cr.GetCIBARequest(ctx(t), f.tn, c.ID)
	wantErr(t, "GetCIBARequest(user deleted)", err, store.ErrNotFound)
}

// testCIBAConcurrent: of concurrent polls of an approved request, exactly
// one sees it not yet done.
func testCIBAConcurrent(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	c := mkCIBA(t, s, f, "race", func(x *store.CIBARequest) { x.State = "approved" })
	var (
		mu   sync.Mutex
		wins int
	)
	warmPool(t, s, 12)
	race(12, func(int) {
		_, err := s.OAuth().CIBA().UpdateCIBARequest(ctx(t), f.tn, c.ID, func(x *store.CIBARequest) error {
			time.Sleep(linger)
			if x.State == "approved" && !x.Done {
				x.Done = true
				mu.Lock()
				wins++
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			t.Errorf("UpdateCIBARequest: %v", err)
		}
	})
	if wins != 1 {
		t.Errorf("%d polls saw the approved request not done, want 1", wins)
	}
}

// testCIBAClientMetadata: the CIBA and JAR client fields are stored on
// create and on update.
func testCIBAClientMetadata(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	cs := s.OAuth().Clients()
	c := &store.Client{ID: "ciba", Tenant: tn, Name: "CIBA", AuthMethod: "client_secret_basic", SecretHash: h("s"),
		GrantTypes: []string{"urn:openid:params:grant-type:ciba"}, BackchannelTokenDelivery: "ping",
		BackchannelNotificationEndpoint: "https://rp.example/notify", RequireSignedRequestObject: true}
	noErr(t, "CreateClient", cs.CreateClient(ctx(t), c))
	got, err := cs.GetClient(ctx(t), tn, "ciba")
	noErr(t, "GetClient", err)
	same(t, "CIBA client", got, c)
	up, err := cs.UpdateClient(ctx(t), tn, "ciba", func(x *store.Client) error {
		x.BackchannelTokenDelivery, x.BackchannelNotificationEndpoint, x.RequireSignedRequestObject = "poll", "", false
		x.BackchannelUserCodeParameter = true
		return nil
	})
	noErr(t, "UpdateClient", err)
	got, err = cs.GetClient(ctx(t), tn, "ciba")
	noErr(t, "GetClient(updated)", err)
	same(t, "updated CIBA client", got, up)
	if got.BackchannelTokenDelivery != "poll" || got.RequireSignedRequestObject || !got.BackchannelUserCodeParameter {
		t.Errorf("updated client = %+v", got)
	}
}
