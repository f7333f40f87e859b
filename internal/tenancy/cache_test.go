package tenancy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

func TestResolveSlugCache(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	clk := newClock()
	svc := newService(t, s, clk.Now)
	acme := mkTenant(t, svc, "acme")
	got, err := svc.ResolveSlug(t.Context(), "acme")
	if err != nil || got.ID != acme.ID {
		t.Fatalf("ResolveSlug = %v, %v", got, err)
	}
	if _, err := svc.ResolveSlug(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown slug: %v", err)
	}
	// Deleted through this store (any service of this process, or on
	// PostgreSQL any node): the cache hears of it at once.
	if err := newService(t, s, clk.Now).DeleteTenant(t.Context(), admin, acme.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResolveSlug(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tenant still resolves: %v", err)
	}

	// A store that tells of no change (another process on the same SQLite
	// file): within the TTL the cached tenant answers; after it, the
	// deletion shows.
	quiet := newService(t, noFeed{s}, clk.Now)
	beta := mkTenant(t, svc, "beta")
	if _, err := quiet.ResolveSlug(t.Context(), "beta"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteTenant(t.Context(), admin, beta.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := quiet.ResolveSlug(t.Context(), "beta"); err != nil {
		t.Fatalf("cached tenant: %v", err)
	}
	clk.Add(3 * time.Second)
	if _, err := quiet.ResolveSlug(t.Context(), "beta"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tenant still resolves after the TTL: %v", err)
	}
}

// noFeed hides the store's ChangeFeed.
type noFeed struct{ store.Store }
