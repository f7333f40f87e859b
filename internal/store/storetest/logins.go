package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var loginTests = []test{
	{"LoginRequestCRUD", testLoginRequestCRUD},
	{"LoginRequestConsume", testLoginRequestConsume},
	{"LoginRequestTenantIsolation", testLoginRequestTenantIsolation},
	{"LoginRequestDeleteExpired", testLoginRequestDeleteExpired},
}

func mkLogin(t *testing.T, s store.Repos, tn store.TenantID, opts ...func(*store.LoginRequest)) *store.LoginRequest {
	t.Helper()
	l := &store.LoginRequest{ID: newID(), Tenant: tn, Origin: "oidc", Return: newID(), ClientID: "app", ExpiresAt: later()}
	for _, o := range opts {
		o(l)
	}
	noErr(t, "CreateLoginRequest", s.Logins().CreateLoginRequest(ctx(t), l))
	return l
}

func testLoginRequestCRUD(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	lr := s.Logins()
	maxAge := 5*time.Minute + 3*time.Nanosecond
	l := &store.LoginRequest{ID: newID(), Tenant: f.tn, Origin: "saml", Return: "pending-1", SPID: "sp-1",
		ReturnURI: "https://sp.example/acs", Scopes: []string{"openid"}, Prompt: []string{"login"}, MaxAge: &maxAge,
		LoginHint: "ann", UILocales: []string{"de"}, ACRValues: []string{"mfa"}, ExpiresAt: later()}
	noErr(t, "CreateLoginRequest", lr.CreateLoginRequest(ctx(t), l))
	if l.CreatedAt.IsZero() || *l.MaxAge != 5*time.Minute {
		t.Errorf("CreateLoginRequest filled %+v", l)
	}
	got, err := lr.GetLoginRequest(ctx(t), f.tn, l.ID)
	noErr(t, "GetLoginRequest", err)
	same(t, "GetLoginRequest", got, l)
	wantErr(t, "CreateLoginRequest(id taken)", lr.CreateLoginRequest(ctx(t), l), store.ErrConflict)
	if err := lr.CreateLoginRequest(ctx(t), &store.LoginRequest{ID: newID(), Tenant: f.tn, ExpiresAt: later()}); err == nil {
		t.Error("CreateLoginRequest accepted a request without an origin")
	}

	authAt := time.Now().Add(-time.Minute)
	up, err := lr.UpdateLoginRequest(ctx(t), f.tn, l.ID, func(x *store.LoginRequest) error {
		x.UserID, x.SessionID, x.AuthTime, x.AMR, x.Done = f.user.ID, f.session.ID, authAt, []string{"pwd", "otp", "mfa"}, true
		return nil
	})
	noErr(t, "UpdateLoginRequest", err)
	got, err = lr.GetLoginRequest(ctx(t), f.tn, l.ID)
	noErr(t, "GetLoginRequest(updated)", err)
	same(t, "updated request", got, up)
	if got.UserID != f.user.ID || !got.Done || got.Origin != "saml" || len(got.AMR) != 3 {
		t.Errorf("updated request = %+v", got)
	}
	_, err = lr.UpdateLoginRequest(ctx(t), f.tn, l.ID, func(x *store.LoginRequest) error { x.UserID = newID(); return nil })
	wantErr(t, "UpdateLoginRequest(unknown user)", err, store.ErrNotFound)
	_, err = lr.UpdateLoginRequest(ctx(t), f.tn, l.ID, func(x *store.LoginRequest) error { x.Return = "x"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateLoginRequest: closure error came back as %v", err)
	}

	old := mkLogin(t, s, f.tn, func(x *store.LoginRequest) { x.ExpiresAt = earlier() })
	_, err = lr.GetLoginRequest(ctx(t), f.tn, old.ID)
	wantErr(t, "GetLoginRequest(expired)", err, store.ErrNotFound)
	_, err = lr.UpdateLoginRequest(ctx(t), f.tn, old.ID, func(*store.LoginRequest) error { t.Error("closure called for an expired request"); return nil })
	wantErr(t, "UpdateLoginRequest(expired)", err, store.ErrNotFound)
	noErr(t, "DeleteLoginRequest(expired)", lr.DeleteLoginRequest(ctx(t), f.tn, old.ID))
	noErr(t, "DeleteLoginRequest", lr.DeleteLoginRequest(ctx(t), f.tn, l.ID))
	wantErr(t, "DeleteLoginRequest(again)", lr.DeleteLoginRequest(ctx(t), f.tn, l.ID), store.ErrNotFound)
}

// testLoginRequestConsume: only a done request of the right session is
// consumed, and only once, however many callers race for it.
func testLoginRequestConsume(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	lr := s.Logins()
	pending := mkLogin(t, s, f.tn, func(x *store.LoginRequest) { x.UserID, x.SessionID = f.user.ID, f.session.ID })
	_, err := lr.ConsumeLoginRequest(ctx(t), f.tn, pending.ID, f.session.ID)
	wantErr(t, "ConsumeLoginRequest(not done)", err, store.ErrNotFound)

	done := mkLogin(t, s, f.tn, func(x *store.LoginRequest) { x.UserID, x.SessionID, x.Done = f.user.ID, f.session.ID, true })
	_, err = lr.ConsumeLoginRequest(ctx(t), f.tn, done.ID, "another-session")
	wantErr(t, "ConsumeLoginRequest(other session)", err, store.ErrNotFound)
	_, err = lr.ConsumeLoginRequest(ctx(t), f.tn, done.ID, "")
	wantErr(t, "ConsumeLoginRequest(no session)", err, store.ErrNotFound)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := lr.ConsumeLoginRequest(ctx(t), f.tn, done.ID, f.session.ID)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if got.ID != done.ID || got.UserID != f.user.ID {
					t.Errorf("ConsumeLoginRequest = %+v", got)
				}
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("ConsumeLoginRequest: %d callers won; want exactly 1", wins)
	}
	_, err = lr.GetLoginRequest(ctx(t), f.tn, done.ID)
	wantErr(t, "GetLoginRequest(consumed)", err, store.ErrNotFound)

	expired := mkLogin(t, s, f.tn, func(x *store.LoginRequest) {
		x.UserID, x.SessionID, x.Done, x.ExpiresAt = f.user.ID, f.session.ID, true, earlier()
	})
	_, err = lr.ConsumeLoginRequest(ctx(t), f.tn, expired.ID, f.session.ID)
	wantErr(t, "ConsumeLoginRequest(expired)", err, store.ErrNotFound)
}

// testLoginRequestTenantIsolation: a request written under tenant A is
// invisible, unchangeable and undeletable under tenant B.
func testLoginRequestTenantIsolation(t *testing.T, s store.Store) {
	a, b := mkFixture(t, s), mkFixture(t, s)
	lr := s.Logins()
	l := mkLogin(t, s, a.tn, func(x *store.LoginRequest) { x.UserID, x.SessionID, x.Done = a.user.ID, a.session.ID, true })
	_, err := lr.GetLoginRequest(ctx(t), b.tn, l.ID)
	wantErr(t, "GetLoginRequest(other tenant)", err, store.ErrNotFound)
	_, err = lr.UpdateLoginRequest(ctx(t), b.tn, l.ID, func(*store.LoginRequest) error { t.Error("closure called across tenants"); return nil })
	wantErr(t, "UpdateLoginRequest(other tenant)", err, store.ErrNotFound)
	_, err = lr.ConsumeLoginRequest(ctx(t), b.tn, l.ID, a.session.ID)
	wantErr(t, "ConsumeLoginRequest(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteLoginRequest(other tenant)", lr.DeleteLoginRequest(ctx(t), b.tn, l.ID), store.ErrNotFound)
	// The same id may exist in B as its own record.
	noErr(t, "CreateLoginRequest(same id, other tenant)", lr.CreateLoginRequest(ctx(t),
		&store.LoginRequest{ID: l.ID, Tenant: b.tn, Origin: "device", ExpiresAt: later()}))
	got, err := lr.GetLoginRequest(ctx(t), a.tn, l.ID)
	noErr(t, "GetLoginRequest(A after B's create)", err)
	if got.Origin != "oidc" || got.UserID != a.user.ID {
		t.Errorf("tenant A's request changed: %+v", got)
	}
}

// testLoginRequestDeleteExpired: the upkeep removes expired requests of
// every tenant, done or not, and keeps the live ones.
func testLoginRequestDeleteExpired(t *testing.T, s store.Store) {
	a, b := mkFixture(t, s), mkFixture(t, s)
	lr := s.Logins()
	expired := func(x *store.LoginRequest) { x.ExpiresAt = earlier() }
	oldA := mkLogin(t, s, a.tn, expired)
	oldB := mkLogin(t, s, b.tn, expired, func(x *store.LoginRequest) { x.UserID, x.SessionID, x.Done = b.user.ID, b.session.ID, true })
	liveA, liveB := mkLogin(t, s, a.tn), mkLogin(t, s, b.tn)
	n, err := lr.DeleteExpiredLoginRequests(ctx(t), time.Now())
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredLoginRequests = %d, %v; want 2", n, err)
	}
	for _, l := range []*store.LoginRequest{oldA, oldB} {
		wantErr(t, "DeleteLoginRequest(swept)", lr.DeleteLoginRequest(ctx(t), l.Tenant, l.ID), store.ErrNotFound)
	}
	for _, l := range []*store.LoginRequest{liveA, liveB} {
		_, err := lr.GetLoginRequest(ctx(t), l.Tenant, l.ID)
		noErr(t, "GetLoginRequest(live after sweep)", err)
	}
	n, err = lr.DeleteExpiredLoginRequests(ctx(t), time.Now())
	if err != nil || n != 0 {
		t.Errorf("DeleteExpiredLoginRequests again = %d, %v; want 0", n, err)
	}
}
