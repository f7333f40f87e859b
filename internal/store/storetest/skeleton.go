package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/ident"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testUserSkeleton: every write path stores the skeletons of the email and
// username, GetUserBySkeleton finds a look-alike by either, skips the user
// named, and sees only its tenant.
func testUserSkeleton(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	us := s.Users()
	carol := &store.User{ID: newID(), Tenant: a, Email: "carol@example.com", EmailNorm: "carol@example.com"}
	noErr(t, "CreateUser", us.CreateUser(ctx(t), carol))
	olga := store.User{ID: newID(), Email: "o@example.com", EmailNorm: "o@example.com", Username: "olga", UsernameNorm: "olga"}
	noErr(t, "InsertUsers", us.InsertUsers(ctx(t), a, []store.User{olga}))

	find := func(tn store.TenantID, lookalike, except string) (*store.User, error) {
		return us.GetUserBySkeleton(ctx(t), tn, ident.Skeleton(lookalike), except)
	}
	for lookalike, want := range map[string]string{
		"саrol@example.com":       carol.ID, // Cyrillic с, а
		"carol\u200b@example.com": carol.ID, // zero-width space
		"οlgα":                    olga.ID,  // Greek ο, α
	} {
		got, err := find(a, lookalike, "")
		noErr(t, "GetUserBySkeleton("+lookalike+")", err)
		if got != nil && got.ID != want {
			t.Errorf("GetUserBySkeleton(%q) = %s, want %s", lookalike, got.ID, want)
		}
	}
	_, err := find(a, "саrol@example.com", carol.ID)
	wantErr(t, "GetUserBySkeleton(except self)", err, store.ErrNotFound)
	_, err = find(b, "саrol@example.com", "")
	wantErr(t, "GetUserBySkeleton(other tenant)", err, store.ErrNotFound)
	_, err = find(a, "dave@example.com", "")
	wantErr(t, "GetUserBySkeleton(no look-alike)", err, store.ErrNotFound)

	_, err = us.UpdateUser(ctx(t), a, carol.ID, func(u *store.User) error {
		u.Email, u.EmailNorm = "dave@example.com", "dave@example.com"
		return nil
	})
	noErr(t, "UpdateUser", err)
	_, err = find(a, "саrol@example.com", "")
	wantErr(t, "GetUserBySkeleton(old email)", err, store.ErrNotFound)
	got, err := find(a, "dаvе@example.com", "")
	noErr(t, "GetUserBySkeleton(new email)", err)
	if got != nil && got.ID != carol.ID {
		t.Errorf("GetUserBySkeleton(new email) = %s, want %s", got.ID, carol.ID)
	}
}
