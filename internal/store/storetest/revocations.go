package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var revocationTests = []test{
	{"OAuth/Token/JWTRevocations", testJWTRevocations},
	{"OAuth/Token/JWTRevocationsSwept", testJWTRevocationsSwept},
}

// testJWTRevocations: what each revocation covers of tokens that have no
// row, and nothing beyond it (another family, session, client, user,
// tenant, or a token issued after a user's revocation).
func testJWTRevocations(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	other := mkFixture(t, s) // another tenant
	c2 := mkClient(t, s, f.tn, "c2")
	now := time.Now()
	ref := func(edit func(*store.AccessTokenRef)) store.AccessTokenRef {
		r := store.AccessTokenRef{ID: newID(), FamilyID: newID(), ClientID: f.client.ID, UserID: f.user.ID,
			SessionID: f.session.ID, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(10 * time.Minute)}
		if edit != nil {
			edit(&r)
		}
		return r
	}
	revoked := func(what string, tn store.TenantID, r store.AccessTokenRef, want bool) {
		t.Helper()
		got, err := tk.AccessTokenRevoked(ctx(t), tn, r)
		noErr(t, "AccessTokenRevoked("+what+")", err)
		if got != want {
			t.Errorf("AccessTokenRevoked(%s) = %v, want %v", what, got, want)
		}
	}

	a, b := ref(nil), ref(nil)
	revoked("fresh", f.tn, a, false)
	noErr(t, "RevokeJWT", tk.RevokeJWT(ctx(t), f.tn, a.ID, a.ExpiresAt))
	noErr(t, "RevokeJWT(again)", tk.RevokeJWT(ctx(t), f.tn, a.ID, a.ExpiresAt))
	revoked("its jti", f.tn, a, true)
	revoked("another jti", f.tn, b, false)
	revoked("its jti in another tenant", other.tn, a, false)

	fam := ref(func(r *store.AccessTokenRef) { r.SessionID = "" })
	noErr(t, "RevokeFamily", tk.RevokeFamily(ctx(t), f.tn, fam.FamilyID))
	revoked("its family", f.tn, fam, true)
	late := fam
	late.ID, late.IssuedAt = newID(), now.Add(time.Hour)
	revoked("its family, issued after", f.tn, late, true)
	revoked("another family", f.tn, ref(nil), false)

	// A session's tokens of one client, then of all.
	sess := mkSession(t, s, f.tn, f.user.ID, "s2-"+newID())
	inSess := ref(func(r *store.AccessTokenRef) { r.SessionID = sess.ID })
	ofC2 := ref(func(r *store.AccessTokenRef) { r.SessionID, r.ClientID = sess.ID, c2.ID })
	noErr(t, "RevokeSessionTokens(c2)", tk.RevokeSessionTokens(ctx(t), f.tn, sess.ID, c2.ID))
	revoked("session, that client", f.tn, ofC2, true)
	revoked("session, another client", f.tn, inSess, false)
	noErr(t, "RevokeSessionTokens(all)", tk.RevokeSessionTokens(ctx(t), f.tn, sess.ID, ""))
	revoked("session, every client", f.tn, inSess, true)

	// A user's tokens: those issued by the revocation, not after.
	u2 := mkUser(t, s, f.tn, "bea")
	before := ref(func(r *store.AccessTokenRef) { r.UserID, r.SessionID = u2.ID, "" })
	beforeC2 := before
	beforeC2.ID, beforeC2.ClientID = newID(), c2.ID
	noErr(t, "RevokeUserClientTokens", tk.RevokeUserClientTokens(ctx(t), f.tn, u2.ID, c2.ID))
	revoked("user at that client", f.tn, beforeC2, true)
	revoked("user at another client", f.tn, before, false)
	noErr(t, "RevokeUserTokens", tk.RevokeUserTokens(ctx(t), f.tn, u2.ID))
	revoked("user, issued before", f.tn, before, true)
	after := before
	after.ID, after.FamilyID, after.IssuedAt = newID(), newID(), time.Now().Add(time.Second)
	revoked("user, issued after", f.tn, after, false)

	// RevokeUserAccessTokens: only tokens expiring by notAfter.
	u3 := mkUser(t, s, f.tn, "cy")
	short := ref(func(r *store.AccessTokenRef) { r.UserID, r.SessionID, r.ExpiresAt = u3.ID, "", now.Add(5*time.Minute) })
	long := ref(func(r *store.AccessTokenRef) { r.UserID, r.SessionID, r.ExpiresAt = u3.ID, "", now.Add(time.Hour) })
	noErr(t, "RevokeUserAccessTokens", tk.RevokeUserAccessTokens(ctx(t), f.tn, u3.ID, now.Add(5*time.Minute)))
	revoked("user, expiring by notAfter", f.tn, short, true)
	revoked("user, expiring after notAfter", f.tn, long, false)

	// A family revoked by reuse in a rotation covers its JWTs too.
	r0 := mkRefresh(t, s, f, "R", "rr0")
	jwt := ref(func(r *store.AccessTokenRef) { r.FamilyID = r0.FamilyID; r.SessionID = "" })
	_, err := tk.RotateRefreshToken(ctx(t), f.tn, h("rr0"), nextRefresh(f, "R", "rr1"))
	noErr(t, "RotateRefreshToken", err)
	revoked("family after a rotation", f.tn, jwt, false)
	_, err = tk.RotateRefreshToken(ctx(t), f.tn, h("rr0"), nextRefresh(f, "R", "rr2"))
	wantErr(t, "RotateRefreshToken(reuse)", err, store.ErrConflict)
	revoked("family after reuse", f.tn, jwt, true)
}

// testJWTRevocationsSwept: a revocation is kept until the tokens it covers
// have expired, then DeleteExpired removes it.
func testJWTRevocationsSwept(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	now := time.Now()
	r := store.AccessTokenRef{ID: newID(), ClientID: f.client.ID, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
	noErr(t, "RevokeJWT", tk.RevokeJWT(ctx(t), f.tn, r.ID, r.ExpiresAt))
	fam := newID()
	noErr(t, "RevokeFamily", tk.RevokeFamily(ctx(t), f.tn, fam))
	_, err := tk.DeleteExpired(ctx(t), now.Add(30*time.Second))
	noErr(t, "DeleteExpired(before expiry)", err)
	if got, err := tk.AccessTokenRevoked(ctx(t), f.tn, r); err != nil || !got {
		t.Fatalf("revoked jti before its expiry: %v, %v; want true", got, err)
	}
	_, err = tk.DeleteExpired(ctx(t), now.Add(2*time.Minute))
	noErr(t, "DeleteExpired(after expiry)", err)
	if got, err := tk.AccessTokenRevoked(ctx(t), f.tn, r); err != nil || got {
		t.Errorf("revoked jti after its expiry and a sweep: %v, %v; want false", got, err)
	}
	famRef := store.AccessTokenRef{ID: newID(), FamilyID: fam, ClientID: f.client.ID, UserID: f.user.ID,
		IssuedAt: now, ExpiresAt: now.Add(store.MaxAccessTokenTTL)}
	if got, err := tk.AccessTokenRevoked(ctx(t), f.tn, famRef); err != nil || !got {
		t.Errorf("family revocation within the longest token lifetime: %v, %v; want kept", got, err)
	}
	_, err = tk.DeleteExpired(ctx(t), now.Add(store.MaxAccessTokenTTL+2*time.Minute))
	noErr(t, "DeleteExpired(past every lifetime)", err)
	if got, err := tk.AccessTokenRevoked(ctx(t), f.tn, famRef); err != nil || got {
		t.Errorf("family revocation past every lifetime: %v, %v; want swept", got, err)
	}
}
