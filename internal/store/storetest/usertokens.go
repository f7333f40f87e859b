package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var accountTests = []test{
	{"OAuth/Token/RevokeUserClientTokens", testRevokeUserClientTokens},
	{"OAuth/Token/RevokeUserTokens", testRevokeUserTokens},
	{"OAuth/Token/UserGrants", testUserGrants},
	{"OAuth/Token/RevokeUserAccessTokens", testRevokeUserAccessTokens},
	{"SelfService/HasLiveToken", testHasLiveToken},
}

// testRevokeUserClientTokens: a revoked consent ends the user's tokens at
// that client in every session and family; other clients, other users and
// other tenants keep theirs.
func testRevokeUserClientTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	o := f // same user and client, another session
	o.session = mkSession(t, s, f.tn, f.user.ID, "other-"+newID())
	g := f // same user, another client
	g.client = mkClient(t, s, f.tn, "c2")
	v := f // another user, same client
	v.user = mkUser(t, s, f.tn, "bob")
	v.session = mkSession(t, s, f.tn, v.user.ID, "bob-"+newID())
	x := mkFixture(t, s) // another tenant, same client id "app"

	mkRefresh(t, s, f, "Ff", "f")
	af := mkAccess(t, s, f, "Ff")
	mkRefresh(t, s, o, "Fo", "o")
	ao := mkAccess(t, s, o, "code-family") // from a code exchange, no refresh token
	mkRefresh(t, s, g, "Fg", "g")
	ag := mkAccess(t, s, g, "Fg")
	mkRefresh(t, s, v, "Fv", "v")
	av := mkAccess(t, s, v, "Fv")
	mkRefresh(t, s, x, "Fx", "x")
	ax := mkAccess(t, s, x, "Fx")

	noErr(t, "RevokeUserClientTokens", tk.RevokeUserClientTokens(ctx(t), f.tn, f.user.ID, f.client.ID))
	refreshRevoked(t, s, f.tn, "user+client refresh", h("f"), true)
	accessRevoked(t, s, f.tn, "user+client access", af.ID, true)
	refreshRevoked(t, s, f.tn, "user+client refresh, other session", h("o"), true)
	accessRevoked(t, s, f.tn, "user+client access, other session", ao.ID, true)
	refreshRevoked(t, s, f.tn, "other client refresh", h("g"), false)
	accessRevoked(t, s, f.tn, "other client access", ag.ID, false)
	refreshRevoked(t, s, f.tn, "other user refresh", h("v"), false)
	accessRevoked(t, s, f.tn, "other user access", av.ID, false)
	refreshRevoked(t, s, x.tn, "other tenant refresh", h("x"), false)
	accessRevoked(t, s, x.tn, "other tenant access", ax.ID, false)

	// A rotation after the revocation finds the token revoked.
	if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("f"), nextRefresh(f, "Ff", "f2")); err == nil {
		t.Error("a revoked token rotated")
	}
	noErr(t, "RevokeUserClientTokens(again)", tk.RevokeUserClientTokens(ctx(t), f.tn, f.user.ID, f.client.ID))
	if err := tk.RevokeUserClientTokens(ctx(t), f.tn, "", f.client.ID); err == nil {
		t.Error("empty user accepted")
	}
}

// testRevokeUserTokens: a credential change ends every token of the user,
// at every client, with a session or without one (device and offline
// grants); other users and tenants keep theirs.
func testRevokeUserTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	d := f // a device grant: another client, no session
	d.client = mkClient(t, s, f.tn, "tv")
	v := f // another user
	v.user = mkUser(t, s, f.tn, "bob")
	v.session = mkSession(t, s, f.tn, v.user.ID, "bob-"+newID())
	x := mkFixture(t, s) // another tenant

	mkRefresh(t, s, f, "Ff", "f")
	af := mkAccess(t, s, f, "Ff")
	mkRefresh(t, s, d, "dc_1", "d", func(r *store.RefreshToken) { r.SessionID, r.Kind = "", store.GrantDevice })
	ad := mkAccess(t, s, d, "dc_1", func(a *store.AccessToken) { a.SessionID = "" })
	mkRefresh(t, s, v, "Fv", "v")
	av := mkAccess(t, s, v, "Fv")
	mkRefresh(t, s, x, "Fx", "x")
	ax := mkAccess(t, s, x, "Fx")

	noErr(t, "RevokeUserTokens", tk.RevokeUserTokens(ctx(t), f.tn, f.user.ID))
	refreshRevoked(t, s, f.tn, "session refresh", h("f"), true)
	accessRevoked(t, s, f.tn, "session access", af.ID, true)
	refreshRevoked(t, s, f.tn, "device refresh", h("d"), true)
	accessRevoked(t, s, f.tn, "device access", ad.ID, true)
	refreshRevoked(t, s, f.tn, "other user refresh", h("v"), false)
	accessRevoked(t, s, f.tn, "other user access", av.ID, false)
	refreshRevoked(t, s, x.tn, "other tenant refresh", h("x"), false)
	accessRevoked(t, s, x.tn, "other tenant access", ax.ID, false)
	if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("d"), nextRefresh(d, "dc_1", "d2")); err == nil {
		t.Error("a revoked device token rotated")
	}
	if err := tk.RevokeUserTokens(ctx(t), f.tn, ""); err == nil {
		t.Error("empty user accepted")
	}
}

// testUserGrants: the live families of a user are listed with their kind
// and times; a rotation keeps one grant; one is revoked by id, only for its
// own user and tenant.
func testUserGrants(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	d := f
	d.client = mkClient(t, s, f.tn, "tv")
	d.session = &store.Session{}
	v := f
	v.user = mkUser(t, s, f.tn, "bob")
	x := mkFixture(t, s)

	mkRefresh(t, s, f, "Fs", "s")
	dev := mkRefresh(t, s, d, "dc_2", "d", func(r *store.RefreshToken) { r.Kind = store.GrantDevice })
	mkRefresh(t, s, d, "Fo", "o") // offline: no session, from a code
	revoked := time.Now()
	mkRefresh(t, s, f, "Fr", "r", func(r *store.RefreshToken) { r.RevokedAt = &revoked })
	mkRefresh(t, s, f, "Fe", "e", func(r *store.RefreshToken) { r.ExpiresAt = earlier() })
	mkRefresh(t, s, x, "Fx", "x")
	next := nextRefresh(d, "dc_2", "d2")
	next.Kind = store.GrantDevice
	if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("d"), next); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	bad := nextRefresh(d, "dc_2", "d3") // a code token cannot continue a device family
	if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("d2"), bad); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("rotation into another kind: %v", err)
	}

	gs, err := tk.ListUserGrants(ctx(t), f.tn, f.user.ID)
	noErr(t, "ListUserGrants", err)
	got := map[string]store.TokenGrant{}
	for _, g := range gs {
		got[g.ID] = g
	}
	if len(gs) != 3 || got["Fs"].Kind != store.GrantCode || got["Fs"].SessionID != f.session.ID ||
		got["dc_2"].Kind != store.GrantDevice || got["dc_2"].SessionID != "" || got["dc_2"].ClientID != "tv" ||
		got["Fo"].Kind != store.GrantCode || got["Fo"].SessionID != "" {
		t.Fatalf("grants = %+v", gs)
	}
	if g := got["dc_2"]; !g.CreatedAt.Equal(dev.CreatedAt) || !g.LastUsedAt.Equal(next.CreatedAt) {
		t.Errorf("device grant times: %+v, first token created %v, rotated %v", g, dev.CreatedAt, next.CreatedAt)
	}
	if gs, err := tk.ListUserGrants(ctx(t), f.tn, v.user.ID); err != nil || len(gs) != 0 {
		t.Errorf("another user's grants: %v %v", gs, err)
	}

	if err := tk.RevokeUserGrant(ctx(t), f.tn, v.user.ID, "dc_2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another user revoked the grant: %v", err)
	}
	if err := tk.RevokeUserGrant(ctx(t), x.tn, f.user.ID, "dc_2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant revoked the grant: %v", err)
	}
	if err := tk.RevokeUserGrant(ctx(t), f.tn, f.user.ID, "Fr"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked grant: %v", err)
	}
	noErr(t, "RevokeUserGrant", tk.RevokeUserGrant(ctx(t), f.tn, f.user.ID, "dc_2"))
	refreshRevoked(t, s, f.tn, "revoked grant", h("d2"), true)
	refreshRevoked(t, s, f.tn, "other grant", h("s"), false)
	if gs, _ := tk.ListUserGrants(ctx(t), f.tn, f.user.ID); len(gs) != 2 {
		t.Errorf("after the revocation: %+v", gs)
	}
	if err := tk.RevokeUserGrant(ctx(t), f.tn, f.user.ID, "dc_2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked twice: %v", err)
	}
}

// testRevokeUserAccessTokens: the user's access tokens that end by the
// given time are revoked; later ones, refresh tokens and other users'
// stay.
func testRevokeUserAccessTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	v := f
	v.user = mkUser(t, s, f.tn, "bob")
	cut := time.Now().Add(30 * time.Minute)
	short := mkAccess(t, s, f, "F", func(a *store.AccessToken) { a.ExpiresAt = cut })
	long := mkAccess(t, s, f, "F", func(a *store.AccessToken) { a.ExpiresAt = cut.Add(time.Minute) })
	other := mkAccess(t, s, v, "V", func(a *store.AccessToken) { a.ExpiresAt = cut })
	mkRefresh(t, s, f, "F", "f")
	noErr(t, "RevokeUserAccessTokens", s.OAuth().Tokens().RevokeUserAccessTokens(ctx(t), f.tn, f.user.ID, cut))
	accessRevoked(t, s, f.tn, "ending by the cut", short.ID, true)
	accessRevoked(t, s, f.tn, "ending after the cut", long.ID, false)
	accessRevoked(t, s, f.tn, "another user's", other.ID, false)
	refreshRevoked(t, s, f.tn, "refresh", h("f"), false)
}

// testHasLiveToken: only an unused, unexpired token of the user and
// purpose, in the tenant, counts.
func testHasLiveToken(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u, v := mkUser(t, s, tn, "ann"), mkUser(t, s, tn, "bob")
	x := mkTenant(t, s)
	ots := s.SelfService().OneTimeTokens()
	has := func(what string, tn store.TenantID, userID string, want bool) {
		t.Helper()
		got, err := ots.HasLiveToken(ctx(t), tn, userID, store.PurposeMagicLink)
		if err != nil || got != want {
			t.Errorf("%s: HasLiveToken = %v, %v; want %v", what, got, err, want)
		}
	}
	has("none yet", tn, u.ID, false)
	mkToken(t, s, tn, u.ID, store.PurposeMagicLink, "expired", -time.Minute)
	mkToken(t, s, tn, u.ID, store.PurposeResetPassword, "other purpose", time.Hour)
	has("expired or of another purpose", tn, u.ID, false)
	mkToken(t, s, tn, u.ID, store.PurposeMagicLink, "live", time.Hour)
	has("live", tn, u.ID, true)
	has("another user", tn, v.ID, false)
	has("another tenant", x, u.ID, false)
	noErr(t, "RevokeUserTokens", ots.RevokeUserTokens(ctx(t), tn, u.ID, store.PurposeMagicLink))
	has("revoked", tn, u.ID, false)
}
