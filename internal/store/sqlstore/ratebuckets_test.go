package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestRateBuckets: the database's token buckets keep the contract on both
// backends, concurrent takes included; a bucket names an existing tenant
// and goes with it.
func TestRateBuckets(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, id := range []store.TenantID{"ta", "tb"} {
			if err := db.Tenants().CreateTenant(ctx, &store.Tenant{ID: id, Slug: string(id), Name: "t",
				Settings: []byte("{}"), Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		storetest.RateBuckets(t, db.RateBuckets(), "ta", "tb")

		if _, _, err := db.RateBuckets().Take(ctx, "nope", "token", now, time.Second, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Take for a missing tenant: %v, want ErrNotFound", err)
		}
		if err := db.Tenants().DeleteTenant(ctx, "ta"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM rate_buckets WHERE tenant_id = 'ta'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("buckets of a deleted tenant: %d (%v), want none", n, err)
		}
	})
}
