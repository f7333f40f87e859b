package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testUserCached: the token path's cached read answers what GetUser does,
// without the password hash and the last login, and follows this node's
// updates, erasures and deletions at once, inside and outside a
// transaction.
func testUserCached(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	us := s.Users()
	u := mkUser(t, s, tn, "cached", func(u *store.User) { u.PasswordHash = "some-hash"; u.GivenName = "Ada" })
	for range 2 { // the second from memory
		got, err := us.GetUserCached(ctx(t), tn, u.ID)
		noErr(t, "GetUserCached", err)
		if got.ID != u.ID || got.GivenName != "Ada" || got.Status != store.UserActive || got.PasswordHash != "" || got.LastLoginAt != nil {
			t.Fatalf("GetUserCached = %+v", got)
		}
		got.GivenName = "changed by the caller" // must not reach the cache
	}
	_, err := us.UpdateUser(ctx(t), tn, u.ID, func(u *store.User) error { u.Status = store.UserDisabled; return nil })
	noErr(t, "UpdateUser", err)
	got, err := us.GetUserCached(ctx(t), tn, u.ID)
	noErr(t, "GetUserCached after update", err)
	if got.Status != store.UserDisabled || got.GivenName != "Ada" {
		t.Errorf("after disabling: status %q given name %q", got.Status, got.GivenName)
	}
	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Repos) error {
		if _, err := tx.Users().UpdateUser(ctx(t), tn, u.ID, func(u *store.User) error { u.Status = store.UserActive; return nil }); err != nil {
			return err
		}
		in, err := tx.Users().GetUserCached(ctx(t), tn, u.ID)
		if err == nil && in.Status != store.UserActive {
			t.Errorf("inside the transaction: status %q", in.Status)
		}
		return err
	}))
	if got, err := us.GetUserCached(ctx(t), tn, u.ID); err != nil || got.Status != store.UserActive {
		t.Errorf("after the transaction: %v %v", got, err)
	}
	noErr(t, "DeleteUser", us.DeleteUser(ctx(t), tn, u.ID))
	_, err = us.GetUserCached(ctx(t), tn, u.ID)
	wantErr(t, "GetUserCached after delete", err, store.ErrNotFound)

	erased := mkUser(t, s, tn, "erased")
	_, err = us.GetUserCached(ctx(t), tn, erased.ID)
	noErr(t, "GetUserCached before erasure", err)
	_, err = s.Privacy().EraseUser(ctx(t), tn, erased.ID, nil)
	noErr(t, "EraseUser", err)
	_, err = us.GetUserCached(ctx(t), tn, erased.ID)
	wantErr(t, "GetUserCached after erasure", err, store.ErrNotFound)
}
