package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestHookChangesReachOtherNodes: two nodes on one PostgreSQL database;
// node B has learnt that the tenant has no pre_token hook (cached), node A
// creates one, and B answers it within a second (NOTIFY; the cache's own
// limit is a second too, so a lost notification shows only as slowness);
// A deletes it and B answers none again.
func TestHookChangesReachOtherNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := context.Background()
	open := func() *sqlstore.DB {
		db, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "hooks", Name: "Hooks"}
	if err := a.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	seen := func(want bool) {
		t.Helper()
		start := time.Now()
		for {
			_, err := b.Hooks().HookFor(ctx, tn.ID, store.HookPreToken)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if (err == nil) == want {
				t.Logf("hook present %v on the other node after %v", want, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("hook present %v: not on the other node after %v", want, time.Since(start))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	seen(false)
	h := &store.Hook{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Trigger: store.HookPreToken,
		URL: "https://hooks.example/t", TimeoutMS: 500, OnFailure: store.HookFailAllow, SealedSecret: []byte{1}}
	if err := a.Hooks().CreateHook(ctx, h); err != nil {
		t.Fatal(err)
	}
	seen(true)
	if err := a.Hooks().DeleteHook(ctx, tn.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	seen(false)
}
