package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/ident"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestSkeletonBackfill: rows written before the skeleton columns existed
// (NULL) get them when the store opens, past one batch, and look-alike
// lookups find them.
func TestSkeletonBackfill(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		tn := tenantT1(t, db)
		users := []store.User{{ID: "u-carol", Email: "carol@example.com", EmailNorm: "carol@example.com", Username: "Carol", UsernameNorm: "carol"}}
		for i := range 700 {
			e := fmt.Sprintf("user%03d@example.com", i)
			users = append(users, store.User{ID: fmt.Sprintf("u-%03d", i), Email: e, EmailNorm: e})
		}
		if err := db.Users().InsertUsers(ctx, tn, users); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `UPDATE users SET email_skel = NULL, username_skel = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Users().GetUserBySkeleton(ctx, tn, ident.Skeleton("саrol@example.com"), ""); err == nil {
			t.Fatal("found a look-alike before the backfill")
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var missing int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email_skel IS NULL`).Scan(&missing); err != nil || missing != 0 {
			t.Fatalf("%d users without a skeleton after Migrate (%v)", missing, err)
		}
		for _, lookalike := range []string{"саrol@example.com", "сarol"} {
			u, err := db.Users().GetUserBySkeleton(ctx, tn, ident.Skeleton(lookalike), "")
			if err != nil || u.ID != "u-carol" {
				t.Errorf("GetUserBySkeleton(%q) = %v, %v; want u-carol", lookalike, u, err)
			}
		}
	})
}
