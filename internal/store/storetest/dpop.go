package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var dpopTests = []test{
	{"OAuth/DPoP/RefreshBinding", testDPoPRefreshBinding},
	{"OAuth/DPoP/ClientPolicy", testDPoPClientPolicy},
}

// testDPoPRefreshBinding: a refresh token's DPoP thumbprint is stored and
// read back, and a rotation cannot drop or change it.
func testDPoPRefreshBinding(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	bound := mkRefresh(t, s, f, "F", "b0", func(r *store.RefreshToken) { r.JKT = "jkt-one" })
	got, err := tk.GetRefreshToken(ctx(t), f.tn, h("b0"))
	noErr(t, "GetRefreshToken(bound)", err)
	same(t, "bound refresh token", got, bound)
	for name, jkt := range map[string]string{"dropped": "", "changed": "jkt-two"} {
		n := nextRefresh(f, "F", "b-"+name)
		n.JKT = jkt
		_, err := tk.RotateRefreshToken(ctx(t), f.tn, h("b0"), n)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefreshToken(binding %s) = %v, want a plain error", name, err)
		}
		if _, err := tk.GetRefreshToken(ctx(t), f.tn, h("b-"+name)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused rotation (binding %s) stored its successor: %v", name, err)
		}
	}
	n := nextRefresh(f, "F", "b1")
	n.JKT = "jkt-one"
	out, err := tk.RotateRefreshToken(ctx(t), f.tn, h("b0"), n)
	noErr(t, "RotateRefreshToken(same binding)", err)
	same(t, "rotated bound token", out, n)
	unbound := mkRefresh(t, s, f, "G", "u0")
	if got, err := tk.GetRefreshToken(ctx(t), f.tn, h("u0")); err != nil || got.JKT != "" || unbound.JKT != "" {
		t.Errorf("unbound token read back with jkt %q: %v", got.JKT, err)
	}
}

// testDPoPClientPolicy: a client's DPoP switches round-trip through
// create and update.
func testDPoPClientPolicy(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	cs := s.OAuth().Clients()
	c := &store.Client{ID: "dpop", Tenant: tn, Name: "DPoP", AuthMethod: "none", Public: true,
		RedirectURIs: []string{"https://dpop.example/cb"}, GrantTypes: []string{"authorization_code"}, DPoPBound: true}
	noErr(t, "CreateClient", cs.CreateClient(ctx(t), c))
	got, err := cs.GetClient(ctx(t), tn, "dpop")
	noErr(t, "GetClient", err)
	if !got.DPoPBound || got.DPoPNonce {
		t.Errorf("created: DPoPBound %v DPoPNonce %v, want true false", got.DPoPBound, got.DPoPNonce)
	}
	up, err := cs.UpdateClient(ctx(t), tn, "dpop", func(x *store.Client) error {
		x.DPoPBound, x.DPoPNonce = false, true
		return nil
	})
	noErr(t, "UpdateClient", err)
	got, err = cs.GetClient(ctx(t), tn, "dpop")
	noErr(t, "GetClient(updated)", err)
	if got.DPoPBound || !got.DPoPNonce || up.DPoPBound || !up.DPoPNonce {
		t.Errorf("updated: stored %v %v, answered %v %v; want false true", got.DPoPBound, got.DPoPNonce, up.DPoPBound, up.DPoPNonce)
	}
}
