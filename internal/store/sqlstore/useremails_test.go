package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// tenantT1 creates the tenant "t1" of a store test.
func tenantT1(t *testing.T, db *sqlstore.DB) store.TenantID {
	t.Helper()
	now := time.Now()
	tn := store.TenantID("t1")
	if err := db.Tenants().CreateTenant(context.Background(), &store.Tenant{ID: tn, Slug: "t1", Name: "t", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestUserEmailsFollowUser: the user_emails rows SCIM filters read are
// written with the user by every write path and go with it.
func TestUserEmailsFollowUser(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		tn := tenantT1(t, db)
		rows := func(id string) string {
			t.Helper()
			r, err := db.SQL().QueryContext(ctx, `SELECT value_lc, COALESCE(type_lc, ''), is_primary FROM user_emails WHERE tenant_id = $1 AND user_id = $2 ORDER BY idx`, string(tn), id)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			out := ""
			for r.Next() {
				var v, typ string
				var p int
				if err := r.Scan(&v, &typ, &p); err != nil {
					t.Fatal(err)
				}
				out += fmt.Sprintf("%s/%s/%d ", v, typ, p)
			}
			return out
		}
		u := store.User{ID: "u1", Tenant: tn, Email: "A@x.example", EmailNorm: "a@x.example",
			Attributes: []byte(`{"scim":{"emails":[{"value":"Home@Y.example","type":"Home"},{"value":5},"junk"]}}`)}
		if err := db.Users().CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if got := rows("u1"); got != "a@x.example//1 home@y.example/home/0 " {
			t.Errorf("after create: %q", got)
		}
		if _, err := db.Users().UpdateUser(ctx, tn, "u1", func(u *store.User) error {
			u.Email, u.EmailNorm = "b@x.example", "b@x.example"
			u.Attributes = []byte(`{"scim":{"emails":[{"value":"b@x.example","type":"work","primary":true}]}}`)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := rows("u1"); got != "b@x.example/work/1 " {
			t.Errorf("after update: %q", got)
		}
		bulk := []store.User{{ID: "u2", Email: "c@x.example", EmailNorm: "c@x.example"}, {ID: "u3", Email: "d@x.example", EmailNorm: "d@x.example"}}
		if err := db.Users().InsertUsers(ctx, tn, bulk); err != nil {
			t.Fatal(err)
		}
		if got := rows("u2") + rows("u3"); got != "c@x.example//1 d@x.example//1 " {
			t.Errorf("after bulk insert: %q", got)
		}
		if err := db.Users().DeleteUser(ctx, tn, "u1"); err != nil {
			t.Fatal(err)
		}
		if got := rows("u1"); got != "" {
			t.Errorf("after delete: %q", got)
		}
		if err := db.Tenants().DeleteTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM user_emails`).Scan(&n); err != nil || n != 0 {
			t.Errorf("after tenant delete: %d rows, %v", n, err)
		}
	})
}
