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
	// Another node deletes it: this node's cache does not hear of it.
	if err := newService(t, s, clk.Now).DeleteTenant(t.Context(), admin, acme.ID); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached tenant answers; after it, the deletion shows.
	if _, err := svc.ResolveSlug(t.Context(), "acme"); err != nil {
		t.Fatalf("cached tenant: %v", err)
	}
	clk.Add(3 * time.Second)
	if _, err := svc.ResolveSlug(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tenant still resolves after the TTL: %v", err)
	}
}
