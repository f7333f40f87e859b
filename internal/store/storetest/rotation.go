package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var rotationTests = []test{
	{"OAuth/Rotation/SuccessorKeepsTheGrant", testRotationKeepsGrant},
}

// refused reports whether err is a plain refusal (neither a reuse nor an
// unknown token).
func refused(err error) bool {
	return err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound)
}

// testRotationKeepsGrant: a successor must name the old token's session
// as well as its family (the store locks both from it); a first use with a
// successor of another session, and a reuse with a successor of another
// family or session, are refused and write nothing: the reuse revokes
// nothing until it comes with a proper successor.
func testRotationKeepsGrant(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	mkRefresh(t, s, f, "K", "k0")
	other := nextRefresh(f, "K", "k-other")
	other.SessionID = ""
	if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("k0"), other); !refused(err) {
		t.Errorf("RotateRefreshToken(successor of another session) = %v, want a plain error", err)
	}
	if got, err := tk.GetRefreshToken(ctx(t), f.tn, h("k0")); err != nil || got.RotatedAt != nil {
		t.Errorf("a refused rotation claimed the old token: %+v, %v", got, err)
	}
	_, err := tk.RotateRefreshToken(ctx(t), f.tn, h("k0"), nextRefresh(f, "K", "k1"))
	noErr(t, "RotateRefreshToken", err)

	for name, edit := range map[string]func(*store.RefreshToken){
		"another family":  func(r *store.RefreshToken) { r.FamilyID = "elsewhere" },
		"another session": func(r *store.RefreshToken) { r.SessionID = "" },
	} {
		bad := nextRefresh(f, "K", "k-"+name)
		edit(bad)
		if _, err := tk.RotateRefreshToken(ctx(t), f.tn, h("k0"), bad); !refused(err) {
			t.Errorf("reuse with a successor of %s = %v, want a plain error", name, err)
		}
		if got, err := tk.GetRefreshToken(ctx(t), f.tn, h("k1")); err != nil || got.RevokedAt != nil {
			t.Errorf("a refused reuse (%s) revoked the family: %+v, %v", name, got, err)
		}
	}
	_, err = tk.RotateRefreshToken(ctx(t), f.tn, h("k0"), nextRefresh(f, "K", "k2"))
	wantErr(t, "RotateRefreshToken(reuse)", err, store.ErrConflict)
	if got, err := tk.GetRefreshToken(ctx(t), f.tn, h("k1")); err != nil || got.RevokedAt == nil {
		t.Errorf("the reuse left the successor live: %+v, %v", got, err)
	}
}
