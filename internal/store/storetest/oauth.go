package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var oauthTests = []test{
	{"OAuth/Client/CRUD", testClientCRUD},
	{"OAuth/Client/DeleteCascades", testClientDeleteCascades},
	{"OAuth/AuthRequest/CRUD", testAuthRequestCRUD},
	{"OAuth/AuthRequest/ConsumeCode", testConsumeCode},
	{"OAuth/AuthRequest/ConsumeCodeConcurrent", testConsumeCodeConcurrent},
	{"OAuth/Token/Refresh", testRefreshTokens},
	{"OAuth/Token/RotateConcurrent", testRotateConcurrent},
	{"OAuth/Token/RevokeDuringRotation", testRevokeDuringRotation},
	{"OAuth/Token/Access", testAccessTokens},
	{"OAuth/Token/RevokeSessionTokens", testRevokeSessionTokens},
	{"OAuth/Token/DeleteExpired", testDeleteExpired},
	{"OAuth/Session/CRUD", testSessions},
	{"OAuth/Session/ConcurrentUpdates", testSessionConcurrentUpdates},
	{"OAuth/Throttle/Window", testThrottleWindow},
	{"OAuth/Throttle/Concurrent", testThrottleConcurrent},
	{"OAuth/Consent/CRUD", testConsents},
	{"OAuth/DeviceCode/CRUD", testDeviceCodes},
	{"OAuth/DeviceCode/ConcurrentPolls", testDeviceCodeConcurrent},
	{"OAuth/TenantIsolation", testOAuthIsolation},
	{"OAuth/DeleteUserCascades", testOAuthDeleteUser},
	{"OAuth/DeleteTenant", testOAuthDeleteTenant},
	{"OAuth/InTx", testOAuthInTx},
}

// h is a distinct 32-byte hash per label, as the provider stores SHA-256
// of codes and tokens.
func h(label string) []byte {
	s := sha256.Sum256([]byte(label))
	return s[:]
}

// hour is the lifetime of records that must not expire during a test.
func later() time.Time   { return time.Now().Add(time.Hour) }
func earlier() time.Time { return time.Now().Add(-time.Hour) }

// same compares records with reflect.DeepEqual: the store answers times in
// UTC at microsecond precision and empty lists as nil, and Create* leave
// the record passed in exactly as stored, so a read must equal it.
func same[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	if got == nil || want == nil {
		t.Errorf("%s: nil record (got %v, want %v)", what, got, want)
		return
	}
	if !reflect.DeepEqual(*got, *want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, *got, *want)
	}
}

// oauthFixture is a tenant with a client, a user and a session of that
// user, the parents most OAuth records need.
type oauthFixture struct {
	tn      store.TenantID
	client  *store.Client
	user    *store.User
	session *store.Session
}

func mkFixture(t *testing.T, s store.Repos) oauthFixture {
	t.Helper()
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "ann")
	return oauthFixture{tn: tn, client: mkClient(t, s, tn, "app"), user: u, session: mkSession(t, s, tn, u.ID, "s-"+newID())}
}

func mkClient(t *testing.T, s store.Repos, tn store.TenantID, id string) *store.Client {
	t.Helper()
	c := &store.Client{ID: id, Tenant: tn, Name: "Client " + id, AuthMethod: "client_secret_basic", SecretHash: h("secret " + id),
		RedirectURIs: []string{"https://" + id + ".example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}}
	noErr(t, "CreateClient("+id+")", s.OAuth().Clients().CreateClient(ctx(t), c))
	return c
}

// mkSession creates a live session of user whose cookie hash is h(token).
func mkSession(t *testing.T, s store.Repos, tn store.TenantID, userID, token string, opts ...func(*store.Session)) *store.Session {
	t.Helper()
	ss := &store.Session{ID: newID(), Tenant: tn, UserID: userID, TokenHash: h(token), AuthTime: time.Now(),
		AMR: []string{"pwd"}, ExpiresAt: later()}
	for _, o := range opts {
		o(ss)
	}
	noErr(t, "CreateSession", s.OAuth().Sessions().CreateSession(ctx(t), ss))
	return ss
}

// mkAuthRequest creates a live request of client whose code hash is
// h(code) ("" for none yet).
func mkAuthRequest(t *testing.T, s store.Repos, tn store.TenantID, clientID, code string, opts ...func(*store.AuthRequest)) *store.AuthRequest {
	t.Helper()
	a := &store.AuthRequest{ID: newID(), Tenant: tn, ClientID: clientID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"openid"}, ResponseType: "code", ExpiresAt: later()}
	if code != "" {
		a.CodeHash = h(code)
	}
	for _, o := range opts {
		o(a)
	}
	noErr(t, "CreateAuthRequest", s.OAuth().AuthRequests().CreateAuthRequest(ctx(t), a))
	return a
}

// mkRefresh creates a live refresh token whose hash is h(token).
func mkRefresh(t *testing.T, s store.Repos, f oauthFixture, family, token string, opts ...func(*store.RefreshToken)) *store.RefreshToken {
	t.Helper()
	r := nextRefresh(f, family, token)
	for _, o := range opts {
		o(r)
	}
	noErr(t, "CreateRefreshToken("+token+")", s.OAuth().Tokens().CreateRefreshToken(ctx(t), r))
	return r
}

// nextRefresh is a refresh token of the fixture, not stored yet.
func nextRefresh(f oauthFixture, family, token string) *store.RefreshToken {
	return &store.RefreshToken{ID: newID(), Tenant: f.tn, Hash: h(token), FamilyID: family, ClientID: f.client.ID,
		UserID: f.user.ID, SessionID: f.session.ID, Scopes: []string{"openid", "offline_access"},
		Audience: []string{f.client.ID}, AuthTime: f.session.AuthTime, AMR: []string{"pwd"}, ExpiresAt: later()}
}

func mkAccess(t *testing.T, s store.Repos, f oauthFixture, family string, opts ...func(*store.AccessToken)) *store.AccessToken {
	t.Helper()
	a := &store.AccessToken{ID: newID(), Tenant: f.tn, FamilyID: family, ClientID: f.client.ID, UserID: f.user.ID,
		SessionID: f.session.ID, Scopes: []string{"openid"}, ExpiresAt: later()}
	for _, o := range opts {
		o(a)
	}
	noErr(t, "CreateAccessToken", s.OAuth().Tokens().CreateAccessToken(ctx(t), a))
	return a
}

func mkDeviceCode(t *testing.T, s store.Repos, tn store.TenantID, clientID, device, userCode string, opts ...func(*store.DeviceCode)) *store.DeviceCode {
	t.Helper()
	d := &store.DeviceCode{Tenant: tn, DeviceCodeHash: h(device), UserCode: userCode, ClientID: clientID,
		Scopes: []string{"openid"}, ExpiresAt: later()}
	for _, o := range opts {
		o(d)
	}
	noErr(t, "CreateDeviceCode("+userCode+")", s.OAuth().DeviceCodes().CreateDeviceCode(ctx(t), d))
	return d
}

// revoked fails unless the refresh token of hash is stored revoked (or,
// with want false, stored and not revoked).
func refreshRevoked(t *testing.T, s store.Repos, tn store.TenantID, what string, hash []byte, want bool) {
	t.Helper()
	r, err := s.OAuth().Tokens().GetRefreshToken(ctx(t), tn, hash)
	if err != nil {
		t.Errorf("%s: GetRefreshToken: %v", what, err)
		return
	}
	if (r.RevokedAt != nil) != want {
		t.Errorf("%s: refresh token RevokedAt = %v, want revoked %v", what, r.RevokedAt, want)
	}
}

func accessRevoked(t *testing.T, s store.Repos, tn store.TenantID, what, id string, want bool) {
	t.Helper()
	a, err := s.OAuth().Tokens().GetAccessToken(ctx(t), tn, id)
	if err != nil {
		t.Errorf("%s: GetAccessToken: %v", what, err)
		return
	}
	if (a.RevokedAt != nil) != want {
		t.Errorf("%s: access token RevokedAt = %v, want revoked %v", what, a.RevokedAt, want)
	}
}

// linger is how long concurrency tests' update closures hold their row,
// so that the racing calls overlap whatever their connections' warm-up.
const linger = 20 * time.Millisecond

// warmPool makes the store open n connections (each InTx holds one while
// it lingers), so that racing calls then start together instead of one
// connection handshake apart, which would let the first finish before the
// next begins and hide a missing lock.
func warmPool(t *testing.T, s store.Store, n int) {
	t.Helper()
	race(n, func(int) {
		if err := s.InTx(ctx(t), func(store.Repos) error { time.Sleep(linger); return nil }); err != nil {
			t.Errorf("warm pool: %v", err)
		}
	})
}

// race runs fn(i) for i in 0..n-1 on n goroutines released together.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

func testClientCRUD(t *testing.T, s store.Store) {
	cs := s.OAuth().Clients()
	tn := mkTenant(t, s)
	c := &store.Client{ID: "web", Tenant: tn, Name: "Web", SecretHash: h("s"), AuthMethod: "client_secret_post",
		RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"}, PostLogoutRedirectURIs: []string{"https://a.example/"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "email"}, ThirdParty: true,
		IDTokenAlg: "RS256", AccessTokenAlg: "ES256", AccessTokenTTL: 5*time.Minute + 123*time.Nanosecond,
		IDTokenTTL: time.Hour, RefreshTokenTTL: 30 * 24 * time.Hour, BackchannelLogoutURI: "https://a.example/bcl",
		JWKS: json.RawMessage(`{"keys": [{"kty": "EC", "crv": "P-256"}]}`), ClaimMappings: map[string]string{"dept": "department"},
		AllowedOrigins: []string{"https://spa.example", "http://127.0.0.1:5173"}, Introspection: "audience"}
	noErr(t, "CreateClient", cs.CreateClient(ctx(t), c))
	if c.Version != 1 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) || c.AccessTokenTTL != 5*time.Minute {
		t.Errorf("CreateClient filled Version %d CreatedAt %v UpdatedAt %v AccessTokenTTL %v; want 1, now, CreatedAt, 5m (microseconds)",
			c.Version, c.CreatedAt, c.UpdatedAt, c.AccessTokenTTL)
	}
	got, err := cs.GetClient(ctx(t), tn, "web")
	noErr(t, "GetClient", err)
	jsonEqual(t, "JWKS", got.JWKS, c.JWKS)
	g, w := *got, *c
	g.JWKS, w.JWKS = nil, nil
	same(t, "GetClient", &g, &w)

	// A minimal client reads back with nil lists, maps, hash and JWKS.
	noErr(t, "CreateClient(public)", cs.CreateClient(ctx(t), &store.Client{ID: "spa", Tenant: tn, Public: true, AuthMethod: "none",
		RedirectURIs: []string{}, ClaimMappings: map[string]string{}}))
	spa, err := cs.GetClient(ctx(t), tn, "spa")
	noErr(t, "GetClient(spa)", err)
	if spa.SecretHash != nil || spa.RedirectURIs != nil || spa.ClaimMappings != nil || spa.JWKS != nil || !spa.Public ||
		spa.AllowedOrigins != nil || spa.Introspection != "own" {
		t.Errorf("minimal client read back as %+v", spa)
	}
	upSPA, err := cs.UpdateClient(ctx(t), tn, "spa", func(x *store.Client) error {
		x.AllowedOrigins, x.Introspection = []string{"https://spa.example"}, "audience"
		return nil
	})
	noErr(t, "UpdateClient(origins)", err)
	spa, err = cs.GetClient(ctx(t), tn, "spa")
	noErr(t, "GetClient(spa) after update", err)
	if !slices.Equal(spa.AllowedOrigins, upSPA.AllowedOrigins) || len(spa.AllowedOrigins) != 1 || spa.Introspection != "audience" {
		t.Errorf("updated origins and introspection read back as %v %q", spa.AllowedOrigins, spa.Introspection)
	}

	wantErr(t, "CreateClient(same id)", cs.CreateClient(ctx(t), &store.Client{ID: "web", Tenant: tn}), store.ErrConflict)
	wantErr(t, "CreateClient(no tenant)", cs.CreateClient(ctx(t), &store.Client{ID: "x", Tenant: store.TenantID(newID())}), store.ErrNotFound)
	if err := cs.CreateClient(ctx(t), &store.Client{ID: "bad", Tenant: tn, JWKS: json.RawMessage(`{`)}); err == nil {
		t.Error("CreateClient accepted JWKS that are not JSON")
	}
	_, err = cs.GetClient(ctx(t), tn, "nope")
	wantErr(t, "GetClient(missing)", err, store.ErrNotFound)

	for _, id := range []string{"a1", "a2", "a3"} {
		mkClient(t, s, tn, id)
	}
	var paged []string
	for after := ""; ; {
		page, err := cs.ListClients(ctx(t), tn, store.Page{After: after, Limit: 2})
		noErr(t, "ListClients", err)
		if len(page) == 0 {
			break
		}
		for _, x := range page {
			paged = append(paged, x.ID)
		}
		after = page[len(page)-1].ID
	}
	sameIDs(t, "paged clients", paged, []string{"a1", "a2", "a3", "spa", "web"})

	up, err := cs.UpdateClient(ctx(t), tn, "web", func(x *store.Client) error {
		x.RedirectURIs = append(x.RedirectURIs, "https://c.example/cb")
		x.ClaimMappings["team"] = "team"
		x.JWKS = nil
		return nil
	})
	noErr(t, "UpdateClient", err)
	if up.Version != 2 || len(up.RedirectURIs) != 3 || up.JWKS != nil || len(up.ClaimMappings) != 2 || !up.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("UpdateClient = %+v", up)
	}
	got, err = cs.GetClient(ctx(t), tn, "web")
	noErr(t, "GetClient(updated)", err)
	same(t, "updated client", got, up)
	_, err = cs.UpdateClient(ctx(t), tn, "web", func(x *store.Client) error { x.Name = "changed"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateClient: closure error came back as %v", err)
	}
	if _, err := cs.UpdateClient(ctx(t), tn, "web", func(x *store.Client) error { x.ID = "other"; return nil }); err == nil {
		t.Error("UpdateClient let the closure change the id")
	}
	_, err = cs.UpdateClient(ctx(t), tn, "nope", func(*store.Client) error { t.Error("closure called for a missing client"); return nil })
	wantErr(t, "UpdateClient(missing)", err, store.ErrNotFound)
	got, _ = cs.GetClient(ctx(t), tn, "web")
	if got.Version != 2 || got.Name != "Web" {
		t.Errorf("failed updates wrote: %+v", got)
	}

	noErr(t, "DeleteClient", cs.DeleteClient(ctx(t), tn, "web"))
	_, err = cs.GetClient(ctx(t), tn, "web")
	wantErr(t, "GetClient(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteClient(again)", cs.DeleteClient(ctx(t), tn, "web"), store.ErrNotFound)
}

// testClientDeleteCascades: deleting a client removes what was issued to
// it, and a client re-created with the same id gets none of it back.
func testClientDeleteCascades(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	other := f
	other.client = mkClient(t, s, f.tn, "other")
	o := s.OAuth()
	type issued struct {
		req    *store.AuthRequest
		rt     *store.RefreshToken
		at     *store.AccessToken
		device *store.DeviceCode
	}
	issue := func(f oauthFixture) issued {
		id := f.client.ID
		noErr(t, "PutConsent", o.Consents().PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: id, Scopes: []string{"openid"}}))
		return issued{
			req:    mkAuthRequest(t, s, f.tn, id, "code-"+id),
			rt:     mkRefresh(t, s, f, "fam-"+id, "rt-"+id),
			at:     mkAccess(t, s, f, "fam-"+id),
			device: mkDeviceCode(t, s, f.tn, id, "dev-"+id, "UC"+id),
		}
	}
	gone, kept := issue(f), issue(other)

	noErr(t, "DeleteClient", o.Clients().DeleteClient(ctx(t), f.tn, f.client.ID))
	mkClient(t, s, f.tn, f.client.ID) // same id again
	check := func(what string, x issued, clientID string, want error) {
		_, err := o.AuthRequests().GetAuthRequest(ctx(t), f.tn, x.req.ID)
		wantErr(t, what+": GetAuthRequest", err, want)
		_, err = o.Tokens().GetRefreshToken(ctx(t), f.tn, x.rt.Hash)
		wantErr(t, what+": GetRefreshToken", err, want)
		_, err = o.Tokens().GetAccessToken(ctx(t), f.tn, x.at.ID)
		wantErr(t, what+": GetAccessToken", err, want)
		_, err = o.DeviceCodes().GetByDeviceCode(ctx(t), f.tn, x.device.DeviceCodeHash)
		wantErr(t, what+": GetByDeviceCode", err, want)
		_, err = o.Consents().GetConsent(ctx(t), f.tn, f.user.ID, clientID)
		wantErr(t, what+": GetConsent", err, want)
	}
	check("deleted client", gone, f.client.ID, store.ErrNotFound)
	check("other client", kept, other.client.ID, nil)
}

func testAuthRequestCRUD(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	ar := s.OAuth().AuthRequests()
	maxAge := 10*time.Minute + 7*time.Nanosecond
	a := &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"openid", "email"}, State: "st", Nonce: "n", ResponseType: "code", ResponseMode: "query",
		CodeChallenge: "cc", CodeChallengeMethod: "S256", Prompt: []string{"login", "consent"}, MaxAge: &maxAge,
		LoginHint: "ann", UILocales: []string{"fr", "en"}, ACRValues: []string{"urn:mfa"}, ExpiresAt: later()}
	noErr(t, "CreateAuthRequest", ar.CreateAuthRequest(ctx(t), a))
	if a.CreatedAt.IsZero() || *a.MaxAge != 10*time.Minute || a.UserID != "" || a.CodeHash != nil {
		t.Errorf("CreateAuthRequest filled %+v", a)
	}
	got, err := ar.GetAuthRequest(ctx(t), f.tn, a.ID)
	noErr(t, "GetAuthRequest", err)
	same(t, "GetAuthRequest", got, a)

	authAt := time.Now().Add(-time.Minute)
	up, err := ar.UpdateAuthRequest(ctx(t), f.tn, a.ID, func(x *store.AuthRequest) error {
		x.UserID, x.SessionID, x.AuthTime, x.AMR, x.Done = f.user.ID, f.session.ID, authAt, []string{"pwd", "otp"}, true
		x.CodeHash = h("code")
		return nil
	})
	noErr(t, "UpdateAuthRequest", err)
	got, err = ar.GetAuthRequest(ctx(t), f.tn, a.ID)
	noErr(t, "GetAuthRequest(updated)", err)
	same(t, "updated request", got, up)
	if got.UserID != f.user.ID || !got.Done || !got.AuthTime.Equal(authAt.Truncate(time.Microsecond)) || len(got.AMR) != 2 {
		t.Errorf("updated request = %+v", got)
	}
	_, err = ar.UpdateAuthRequest(ctx(t), f.tn, a.ID, func(x *store.AuthRequest) error { x.UserID = newID(); return nil })
	wantErr(t, "UpdateAuthRequest(unknown user)", err, store.ErrNotFound)
	_, err = ar.UpdateAuthRequest(ctx(t), f.tn, a.ID, func(x *store.AuthRequest) error { x.State = "x"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateAuthRequest: closure error came back as %v", err)
	}
	// Codes are unique in the tenant.
	b := mkAuthRequest(t, s, f.tn, f.client.ID, "")
	_, err = ar.UpdateAuthRequest(ctx(t), f.tn, b.ID, func(x *store.AuthRequest) error { x.CodeHash = h("code"); return nil })
	wantErr(t, "UpdateAuthRequest(code taken)", err, store.ErrConflict)
	err = ar.CreateAuthRequest(ctx(t), &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, CodeHash: h("code"), ExpiresAt: later()})
	wantErr(t, "CreateAuthRequest(code taken)", err, store.ErrConflict)
	err = ar.CreateAuthRequest(ctx(t), &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: "nope", ExpiresAt: later()})
	wantErr(t, "CreateAuthRequest(unknown client)", err, store.ErrNotFound)
	if err := ar.CreateAuthRequest(ctx(t), &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: f.client.ID}); err == nil {
		t.Error("CreateAuthRequest accepted a request without expiry")
	}

	// Expired requests are gone for reads and updates, not for deletes.
	old := mkAuthRequest(t, s, f.tn, f.client.ID, "", func(x *store.AuthRequest) { x.ExpiresAt = earlier() })
	_, err = ar.GetAuthRequest(ctx(t), f.tn, old.ID)
	wantErr(t, "GetAuthRequest(expired)", err, store.ErrNotFound)
	_, err = ar.UpdateAuthRequest(ctx(t), f.tn, old.ID, func(*store.AuthRequest) error { t.Error("closure called for an expired request"); return nil })
	wantErr(t, "UpdateAuthRequest(expired)", err, store.ErrNotFound)
	noErr(t, "DeleteAuthRequest(expired)", ar.DeleteAuthRequest(ctx(t), f.tn, old.ID))
	noErr(t, "DeleteAuthRequest", ar.DeleteAuthRequest(ctx(t), f.tn, a.ID))
	_, err = ar.GetAuthRequest(ctx(t), f.tn, a.ID)
	wantErr(t, "GetAuthRequest(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteAuthRequest(again)", ar.DeleteAuthRequest(ctx(t), f.tn, a.ID), store.ErrNotFound)
}

func testConsumeCode(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	ar := s.OAuth().AuthRequests()
	a := mkAuthRequest(t, s, f.tn, f.client.ID, "c1", func(x *store.AuthRequest) { x.UserID, x.Done = f.user.ID, true })

	got, err := ar.ConsumeCode(ctx(t), f.tn, h("c1"))
	noErr(t, "ConsumeCode", err)
	want := *a
	want.CodeUsed = true
	same(t, "consumed request", got, &want)
	for i := range 2 {
		got, err = ar.ConsumeCode(ctx(t), f.tn, h("c1"))
		wantErr(t, fmt.Sprintf("ConsumeCode(used, #%d)", i+2), err, store.ErrConflict)
		same(t, "request answered with the conflict", got, &want)
	}
	_, err = ar.ConsumeCode(ctx(t), f.tn, h("unknown"))
	wantErr(t, "ConsumeCode(unknown)", err, store.ErrNotFound)
	_, err = ar.ConsumeCode(ctx(t), f.tn, nil)
	wantErr(t, "ConsumeCode(nil)", err, store.ErrNotFound)

	// Expired: unknown, used or not.
	mkAuthRequest(t, s, f.tn, f.client.ID, "c2", func(x *store.AuthRequest) { x.ExpiresAt = earlier() })
	mkAuthRequest(t, s, f.tn, f.client.ID, "c3", func(x *store.AuthRequest) { x.ExpiresAt, x.CodeUsed = earlier(), true })
	for _, c := range []string{"c2", "c3"} {
		_, err = ar.ConsumeCode(ctx(t), f.tn, h(c))
		wantErr(t, "ConsumeCode(expired "+c+")", err, store.ErrNotFound)
	}

	// Another tenant's code is unknown, and stays unused.
	other := mkTenant(t, s)
	mkAuthRequest(t, s, f.tn, f.client.ID, "c4")
	_, err = ar.ConsumeCode(ctx(t), other, h("c4"))
	wantErr(t, "ConsumeCode(other tenant)", err, store.ErrNotFound)
	_, err = ar.ConsumeCode(ctx(t), f.tn, h("c4"))
	noErr(t, "ConsumeCode(own tenant, after the other tried)", err)
}

// testConsumeCodeConcurrent: of N concurrent exchanges of one code exactly
// one wins; every other gets the request and ErrConflict.
func testConsumeCodeConcurrent(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	const rounds, n = 8, 12
	warmPool(t, s, n)
	for round := range rounds {
		code := fmt.Sprint("code-", round)
		a := mkAuthRequest(t, s, f.tn, f.client.ID, code)
		var (
			mu              sync.Mutex
			wins, conflicts int
		)
		race(n, func(int) {
			got, err := s.OAuth().AuthRequests().ConsumeCode(ctx(t), f.tn, h(code))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got != nil && got.ID == a.ID:
				wins++
			case isErr(err, store.ErrConflict) && got != nil && got.ID == a.ID && got.CodeUsed:
				conflicts++
			default:
				t.Errorf("round %d: ConsumeCode = %+v, %v", round, got, err)
			}
		})
		if wins != 1 || conflicts != n-1 {
			t.Errorf("round %d: %d exchanges won and %d conflicted; want 1 and %d", round, wins, conflicts, n-1)
		}
	}
}
