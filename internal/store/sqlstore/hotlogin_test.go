package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestRecordLoginIsHOT: on PostgreSQL a sign-in's write of last_login_at
// is a heap-only (HOT) update, which writes no entry into any of users'
// indexes (with a million users each of them is a random page; an index
// on last_login_at made every sign-in write all of them). The counts are
// the transaction's own (pg_stat_xact_user_tables), so nothing else on
// the database shows in them. A rehash on sign-in changes password_hash,
// which no index covers either.
func TestRecordLoginIsHOT(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := context.Background()
	db := openNode(t, sqlstore.DriverPostgres, dsn)
	var fillfactor string
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(array_to_string(reloptions, ','), '')
FROM pg_class WHERE oid = 'users'::regclass`).Scan(&fillfactor); err != nil {
		t.Fatal(err)
	}
	if fillfactor != "fillfactor=90" {
		t.Errorf("users' storage options %q, want fillfactor=90 (room on each page for the new row version)", fillfactor)
	}
	tn := &store.Tenant{ID: "t-hot", Slug: "t-hot", Name: "hot"}
	if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: "0193a000-0000-7000-8000-000000000002", Tenant: tn.ID, Email: "h@example.com",
		EmailNorm: "h@example.com", GivenName: "Ada", Status: store.UserActive, PasswordHash: "old"}
	if err := db.Users().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	err := db.InTx(ctx, func(tx store.Repos) error {
		for i := range 3 {
			if err := tx.Users().RecordLogin(ctx, tn.ID, u.ID, at.Add(time.Duration(i)*time.Second), "", ""); err != nil {
				return err
			}
		}
		if err := tx.Users().RecordLogin(ctx, tn.ID, u.ID, at.Add(time.Minute), "old", "new"); err != nil {
			return err
		}
		var upd, hot int
		if err := sqlstore.TxSQL(tx).QueryRowContext(ctx, `SELECT n_tup_upd, n_tup_hot_upd
FROM pg_stat_xact_user_tables WHERE relid = 'users'::regclass`).Scan(&upd, &hot); err != nil {
			return err
		}
		if upd != 4 || hot != 4 {
			t.Errorf("4 sign-ins: %d updates of users, %d of them heap-only; want 4 and 4", upd, hot)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Users().GetUser(ctx, tn.ID, u.ID)
	if err != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(at.Add(time.Minute).Truncate(time.Microsecond)) || got.PasswordHash != "new" {
		t.Fatalf("after the sign-ins: %+v %v", got, err)
	}
}

// TestUnsealedAuditTenants: the start-up conversion's one query lists the
// tenants without a conversion mark (those of a release before sealing,
// made here by deleting the mark), in id order and by page, and none that
// has one.
func TestUnsealedAuditTenants(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			driver, dsn := open(t)
			db := openNode(t, driver, dsn)
			ctx := context.Background()
			var legacy []store.TenantID
			for i := range 5 {
				tn := &store.Tenant{ID: store.TenantID(fmt.Sprintf("t-seal-%d", i)), Slug: fmt.Sprintf("t-seal-%d", i), Name: "seal"}
				if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					if _, err := db.SQL().ExecContext(ctx, `DELETE FROM privacy_audit_sealed WHERE tenant_id = $1`, string(tn.ID)); err != nil {
						t.Fatal(err)
					}
					legacy = append(legacy, tn.ID)
				}
			}
			var got []store.TenantID
			for p := (store.Page{Limit: 2}); ; {
				ts, err := db.Privacy().UnsealedAuditTenants(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ts...)
				if len(ts) < p.Limit {
					break
				}
				p.After = string(ts[len(ts)-1])
			}
			if !slices.Equal(got, legacy) {
				t.Errorf("UnsealedAuditTenants = %v, want %v", got, legacy)
			}
		})
	}
}
