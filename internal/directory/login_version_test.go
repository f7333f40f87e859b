package directory_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestLoginKeepsVersion: a login records its time but is no edit, so an
// administrator's If-Match taken before it still applies after.
func TestLoginKeepsVersion(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		u := e.user(t, tn, directory.NewUser{Email: "kay@example.com", Password: ptr("dynabook for children")})
		if _, err := e.dir.Authenticate(t.Context(), tn, "kay@example.com", "dynabook for children"); err != nil {
			t.Fatal(err)
		}
		got, err := e.dir.GetUser(t.Context(), tn, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastLoginAt == nil || got.Version != u.Version {
			t.Fatalf("after login: last login %v, version %d (was %d)", got.LastLoginAt, got.Version, u.Version)
		}
		if _, err := e.dir.UpdateUser(t.Context(), admin, tn, u.ID, u.Version, directory.UserPatch{GivenName: ptr("Alan")}); err != nil {
			t.Fatalf("If-Match from before the login: %v", err)
		}
	})
}
