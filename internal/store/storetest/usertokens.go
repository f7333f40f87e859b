package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var accountTests = []test{
	{"OAuth/Token/RevokeUserClientTokens", testRevokeUserClientTokens},
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
