package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// oauthSet is one of everything the OpenID provider stores, for a tenant.
type oauthSet struct {
	f       oauthFixture
	req     *store.AuthRequest // with code h(code)
	code    string
	rt      *store.RefreshToken // family fam
	fam     string
	at      *store.AccessToken
	device  *store.DeviceCode
	userKey string // throttle key with one failure
}

// mkOAuthSet stores one of everything under f; tag keeps hashes distinct
// between sets (tenants may share them, but tests are clearer without).
func mkOAuthSet(t *testing.T, s store.Repos, f oauthFixture, tag string) oauthSet {
	t.Helper()
	o := s.OAuth()
	set := oauthSet{f: f, code: "code-" + tag, fam: "fam-" + tag, userKey: "acct:" + tag}
	set.req = mkAuthRequest(t, s, f.tn, f.client.ID, set.code, func(a *store.AuthRequest) { a.UserID = f.user.ID })
	set.rt = mkRefresh(t, s, f, set.fam, "rt-"+tag)
	set.at = mkAccess(t, s, f, set.fam)
	set.device = mkDeviceCode(t, s, f.tn, f.client.ID, "dev-"+tag, "UC-"+tag, func(d *store.DeviceCode) { d.UserID = f.user.ID })
	noErr(t, "PutConsent", o.Consents().PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: f.client.ID, Scopes: []string{"openid"}}))
	if _, err := o.Throttle().Fail(ctx(t), f.tn, set.userKey, time.Now(), time.Hour); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	return set
}

// present checks every record of set reads back (want nil) or is gone
// (want ErrNotFound), as seen under tenant tn.
func (set oauthSet) check(t *testing.T, s store.Repos, what string, tn store.TenantID, want error) {
	t.Helper()
	o, f := s.OAuth(), set.f
	_, err := o.Clients().GetClient(ctx(t), tn, f.client.ID)
	wantErr(t, what+": GetClient", err, want)
	_, err = o.AuthRequests().GetAuthRequest(ctx(t), tn, set.req.ID)
	wantErr(t, what+": GetAuthRequest", err, want)
	_, err = o.Tokens().GetRefreshToken(ctx(t), tn, set.rt.Hash)
	wantErr(t, what+": GetRefreshToken", err, want)
	_, err = o.Tokens().GetAccessToken(ctx(t), tn, set.at.ID)
	wantErr(t, what+": GetAccessToken", err, want)
	_, err = o.Sessions().GetSession(ctx(t), tn, f.session.ID)
	wantErr(t, what+": GetSession", err, want)
	_, err = o.Sessions().GetSessionByToken(ctx(t), tn, f.session.TokenHash)
	wantErr(t, what+": GetSessionByToken", err, want)
	_, err = o.Consents().GetConsent(ctx(t), tn, f.user.ID, f.client.ID)
	wantErr(t, what+": GetConsent", err, want)
	_, err = o.DeviceCodes().GetByDeviceCode(ctx(t), tn, set.device.DeviceCodeHash)
	wantErr(t, what+": GetByDeviceCode", err, want)
	_, err = o.DeviceCodes().GetByUserCode(ctx(t), tn, set.device.UserCode)
	wantErr(t, what+": GetByUserCode", err, want)
	n, _, err := o.Throttle().Failures(ctx(t), tn, set.userKey, time.Now(), time.Hour)
	noErr(t, what+": Failures", err)
	if wantN := map[bool]int{true: 1, false: 0}[want == nil]; n != wantN {
		t.Errorf("%s: Failures = %d, want %d", what, n, wantN)
	}
}

// testOAuthIsolation: records of tenant A are invisible to every call
// under B, writes under B cannot reach them, and A's records cannot be
// named from B.
func testOAuthIsolation(t *testing.T, s store.Store) {
	fa := mkFixture(t, s)
	a := mkOAuthSet(t, s, fa, "a")
	b := mkTenant(t, s)
	o := s.OAuth()

	a.check(t, s, "A's records under B", b, store.ErrNotFound)
	cl, err := o.Clients().ListClients(ctx(t), b, store.Page{})
	noErr(t, "ListClients(B)", err)
	sl, err := o.Sessions().ListUserSessions(ctx(t), b, fa.user.ID)
	noErr(t, "ListUserSessions(B)", err)
	col, err := o.Consents().ListConsents(ctx(t), b, fa.user.ID)
	noErr(t, "ListConsents(B)", err)
	if len(cl)+len(sl)+len(col) != 0 {
		t.Errorf("lists under B show A's records: %d clients, %d sessions, %d consents", len(cl), len(sl), len(col))
	}

	// Writes under B.
	_, err = o.Clients().UpdateClient(ctx(t), b, fa.client.ID, func(*store.Client) error { t.Error("closure called across tenants"); return nil })
	wantErr(t, "UpdateClient(B)", err, store.ErrNotFound)
	wantErr(t, "DeleteClient(B)", o.Clients().DeleteClient(ctx(t), b, fa.client.ID), store.ErrNotFound)
	_, err = o.AuthRequests().UpdateAuthRequest(ctx(t), b, a.req.ID, func(*store.AuthRequest) error { t.Error("closure called across tenants"); return nil })
	wantErr(t, "UpdateAuthRequest(B)", err, store.ErrNotFound)
	wantErr(t, "DeleteAuthRequest(B)", o.AuthRequests().DeleteAuthRequest(ctx(t), b, a.req.ID), store.ErrNotFound)
	_, err = o.AuthRequests().ConsumeCode(ctx(t), b, h(a.code))
	wantErr(t, "ConsumeCode(B)", err, store.ErrNotFound)
	next := nextRefresh(fa, a.fam, "rt-next")
	next.Tenant = b
	_, err = o.Tokens().RotateRefreshToken(ctx(t), b, a.rt.Hash, next)
	wantErr(t, "RotateRefreshToken(B)", err, store.ErrNotFound)
	noErr(t, "RevokeFamily(B)", o.Tokens().RevokeFamily(ctx(t), b, a.fam))
	noErr(t, "RevokeSessionTokens(B)", o.Tokens().RevokeSessionTokens(ctx(t), b, fa.session.ID, ""))
	wantErr(t, "RevokeAccessToken(B)", o.Tokens().RevokeAccessToken(ctx(t), b, a.at.ID), store.ErrNotFound)
	_, err = o.Sessions().UpdateSession(ctx(t), b, fa.session.ID, func(*store.Session) error { t.Error("closure called across tenants"); return nil })
	wantErr(t, "UpdateSession(B)", err, store.ErrNotFound)
	wantErr(t, "RevokeSession(B)", o.Sessions().RevokeSession(ctx(t), b, fa.session.ID), store.ErrNotFound)
	noErr(t, "RevokeUserSessions(B)", o.Sessions().RevokeUserSessions(ctx(t), b, fa.user.ID))
	wantErr(t, "DeleteConsent(B)", o.Consents().DeleteConsent(ctx(t), b, fa.user.ID, fa.client.ID), store.ErrNotFound)
	_, err = o.DeviceCodes().UpdateDeviceCode(ctx(t), b, a.device.DeviceCodeHash, func(*store.DeviceCode) error { t.Error("closure called across tenants"); return nil })
	wantErr(t, "UpdateDeviceCode(B)", err, store.ErrNotFound)
	noErr(t, "Reset(B)", o.Throttle().Reset(ctx(t), b, a.userKey))
	if n, err := o.Throttle().Fail(ctx(t), b, a.userKey, time.Now(), time.Hour); err != nil || n != 1 {
		t.Errorf("Fail(B, A's key) = %d, %v; want a count of its own, 1", n, err)
	}
	noErr(t, "Reset(B)", o.Throttle().Reset(ctx(t), b, a.userKey))

	// B cannot name A's client or user.
	wantErr(t, "CreateAuthRequest(B, A's client)", o.AuthRequests().CreateAuthRequest(ctx(t), &store.AuthRequest{
		ID: newID(), Tenant: b, ClientID: fa.client.ID, ExpiresAt: later()}), store.ErrNotFound)
	mkClient(t, s, b, fa.client.ID) // the same client id, B's own
	for what, err := range map[string]error{
		"CreateRefreshToken(B, A's user)": o.Tokens().CreateRefreshToken(ctx(t), next),
		"CreateSession(B, A's user)": o.Sessions().CreateSession(ctx(t), &store.Session{ID: newID(), Tenant: b, UserID: fa.user.ID,
			TokenHash: h("b"), ExpiresAt: later()}),
		"PutConsent(B, A's user)": o.Consents().PutConsent(ctx(t), &store.Consent{Tenant: b, UserID: fa.user.ID, ClientID: fa.client.ID}),
		"CreateAccessToken(B, A's user)": o.Tokens().CreateAccessToken(ctx(t), &store.AccessToken{ID: newID(), Tenant: b,
			ClientID: fa.client.ID, UserID: fa.user.ID, ExpiresAt: later()}),
	} {
		wantErr(t, what, err, store.ErrNotFound)
	}
	// B's own records may reuse A's keys: the same user code, code hash.
	fb := mkFixture(t, s)
	mkAuthRequest(t, s, fb.tn, fb.client.ID, a.code)
	mkDeviceCode(t, s, fb.tn, fb.client.ID, "dev-a", a.device.UserCode)

	// A is untouched: everything reads back, nothing was revoked or used.
	a.check(t, s, "A's records under A", fa.tn, nil)
	refreshRevoked(t, s, fa.tn, "A's refresh token", a.rt.Hash, false)
	accessRevoked(t, s, fa.tn, "A's access token", a.at.ID, false)
	ss, _ := o.Sessions().GetSession(ctx(t), fa.tn, fa.session.ID)
	if ss == nil || ss.RevokedAt != nil {
		t.Errorf("A's session after B's revocations: %+v", ss)
	}
	got, err := o.AuthRequests().ConsumeCode(ctx(t), fa.tn, h(a.code))
	if err != nil || got.ID != a.req.ID {
		t.Errorf("ConsumeCode(A) after B's attempt = %+v, %v; want A's request, unused until now", got, err)
	}
	if _, err := o.Tokens().RotateRefreshToken(ctx(t), fa.tn, a.rt.Hash, nextRefresh(fa, a.fam, "rt-next")); err != nil {
		t.Errorf("RotateRefreshToken(A) after B's attempts: %v", err)
	}
}

// testOAuthDeleteUser: a deleted user's sessions, consents, tokens,
// requests and device codes go with them; another user's stay.
func testOAuthDeleteUser(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	g := f
	g.user = mkUser(t, s, f.tn, "bob")
	g.session = mkSession(t, s, f.tn, g.user.ID, "bob-session")
	gone := mkOAuthSet(t, s, f, "ann")
	kept := mkOAuthSet(t, s, g, "bob")
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), f.tn, f.user.ID))
	o := s.OAuth()
	_, err := o.Sessions().GetSession(ctx(t), f.tn, f.session.ID)
	wantErr(t, "GetSession(deleted user)", err, store.ErrNotFound)
	_, err = o.Consents().GetConsent(ctx(t), f.tn, f.user.ID, f.client.ID)
	wantErr(t, "GetConsent(deleted user)", err, store.ErrNotFound)
	_, err = o.Tokens().GetRefreshToken(ctx(t), f.tn, gone.rt.Hash)
	wantErr(t, "GetRefreshToken(deleted user)", err, store.ErrNotFound)
	_, err = o.Tokens().GetAccessToken(ctx(t), f.tn, gone.at.ID)
	wantErr(t, "GetAccessToken(deleted user)", err, store.ErrNotFound)
	_, err = o.AuthRequests().GetAuthRequest(ctx(t), f.tn, gone.req.ID)
	wantErr(t, "GetAuthRequest(deleted user)", err, store.ErrNotFound)
	_, err = o.DeviceCodes().GetByDeviceCode(ctx(t), f.tn, gone.device.DeviceCodeHash)
	wantErr(t, "GetByDeviceCode(deleted user)", err, store.ErrNotFound)
	sl, err := o.Sessions().ListUserSessions(ctx(t), f.tn, f.user.ID)
	if err != nil || len(sl) != 0 {
		t.Errorf("ListUserSessions(deleted user) = %d sessions, %v", len(sl), err)
	}
	kept.check(t, s, "the other user's records", f.tn, nil)
}

// testOAuthDeleteTenant: deleting a tenant removes all its OpenID provider
// records, throttle counters included, and none of another tenant's.
func testOAuthDeleteTenant(t *testing.T, s store.Store) {
	fa, fb := mkFixture(t, s), mkFixture(t, s)
	a, b := mkOAuthSet(t, s, fa, "a"), mkOAuthSet(t, s, fb, "b")
	noErr(t, "DeleteTenant", s.Tenants().DeleteTenant(ctx(t), fa.tn))
	a.check(t, s, "deleted tenant", fa.tn, store.ErrNotFound)
	b.check(t, s, "other tenant", fb.tn, nil)
	// Re-creating the tenant id would find nothing of the old one.
	noErr(t, "CreateTenant(same id)", s.Tenants().CreateTenant(ctx(t), &store.Tenant{ID: fa.tn, Slug: "again-" + newID(), Name: "again"}))
	a.check(t, s, "re-created tenant", fa.tn, store.ErrNotFound)
}

// testOAuthInTx: OAuth calls through the Tx commit or roll back with the
// rest, and a failed call does not poison the transaction.
func testOAuthInTx(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	var set oauthSet
	err := s.InTx(ctx(t), func(tx store.Repos) error {
		set = mkOAuthSet(t, tx, f, "ghost")
		if _, err := tx.OAuth().AuthRequests().ConsumeCode(ctx(t), f.tn, h(set.code)); err != nil {
			return err
		}
		if _, err := tx.OAuth().Tokens().RotateRefreshToken(ctx(t), f.tn, set.rt.Hash, nextRefresh(f, set.fam, "rt-ghost-2")); err != nil {
			return err
		}
		return errClosure
	})
	if err != errClosure {
		t.Fatalf("InTx: %v, want fn's error unchanged", err)
	}
	o := s.OAuth()
	_, err = o.AuthRequests().GetAuthRequest(ctx(t), f.tn, set.req.ID)
	wantErr(t, "GetAuthRequest(rolled back)", err, store.ErrNotFound)
	_, err = o.Tokens().GetRefreshToken(ctx(t), f.tn, set.rt.Hash)
	wantErr(t, "GetRefreshToken(rolled back)", err, store.ErrNotFound)
	if n, _, _ := o.Throttle().Failures(ctx(t), f.tn, set.userKey, time.Now(), time.Hour); n != 0 {
		t.Errorf("rolled back Fail left a count of %d", n)
	}
	_, err = o.Consents().GetConsent(ctx(t), f.tn, f.user.ID, f.client.ID)
	wantErr(t, "GetConsent(rolled back)", err, store.ErrNotFound)

	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Repos) error {
		err := tx.OAuth().Clients().CreateClient(ctx(t), &store.Client{ID: f.client.ID, Tenant: f.tn})
		wantErr(t, "CreateClient(taken) in tx", err, store.ErrConflict)
		_, err = tx.OAuth().AuthRequests().ConsumeCode(ctx(t), f.tn, h("nope"))
		wantErr(t, "ConsumeCode(unknown) in tx", err, store.ErrNotFound)
		set = mkOAuthSet(t, tx, f, "real")
		_, err = tx.OAuth().AuthRequests().ConsumeCode(ctx(t), f.tn, h(set.code))
		noErr(t, "ConsumeCode in tx", err)
		_, err = tx.OAuth().AuthRequests().ConsumeCode(ctx(t), f.tn, h(set.code))
		wantErr(t, "ConsumeCode(again) in tx", err, store.ErrConflict)
		return nil
	}))
	set.check(t, s, "committed records", f.tn, nil)
	got, err := o.AuthRequests().GetAuthRequest(ctx(t), f.tn, set.req.ID)
	noErr(t, "GetAuthRequest(committed)", err)
	if !got.CodeUsed {
		t.Error("the code consumed in the committed tx reads unused")
	}
}
