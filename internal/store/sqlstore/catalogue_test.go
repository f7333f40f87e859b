package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestCatalogue: the global tenant catalogue keeps slugs and ids unique,
// moves a tenant only from the region it is in, and lists in id order.
func TestCatalogue(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c := db.Catalogue()
		a := &store.CatalogueEntry{ID: "0190a000-0000-7000-8000-000000000001", Slug: "acme", Region: "eu", Plan: "pro"}
		if err := c.PutCatalogue(ctx, a); err != nil {
			t.Fatal(err)
		}
		for _, dup := range []*store.CatalogueEntry{
			{ID: "0190a000-0000-7000-8000-000000000002", Slug: "acme", Region: "us"},
			{ID: a.ID, Slug: "other", Region: "us"},
		} {
			if err := c.PutCatalogue(ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate %+v: %v, want ErrConflict", dup, err)
			}
		}
		if err := c.PutCatalogue(ctx, &store.CatalogueEntry{ID: "x", Slug: "y"}); err == nil {
			t.Error("an entry without a region was stored")
		}
		b := &store.CatalogueEntry{ID: "0190a000-0000-7000-8000-000000000003", Slug: "beta", Region: "us", Domains: []string{"login.beta.test"}}
		if err := c.PutCatalogue(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetCatalogueBySlug(ctx, "beta")
		if err != nil || got.ID != b.ID || got.Region != "us" || !slices.Equal(got.Domains, b.Domains) {
			t.Fatalf("GetCatalogueBySlug = %+v, %v", got, err)
		}
		if _, err := c.GetCatalogueBySlug(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown slug: %v", err)
		}
		// A move names the region it moves from: a second, stale move fails.
		if err := c.MoveCatalogue(ctx, a.ID, "eu", "us"); err != nil {
			t.Fatal(err)
		}
		if err := c.MoveCatalogue(ctx, a.ID, "eu", "ap"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("stale move: %v, want ErrConflict", err)
		}
		if err := c.MoveCatalogue(ctx, "0190a000-0000-7000-8000-00000000000f", "eu", "us"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("move of nothing: %v, want ErrNotFound", err)
		}
		if err := c.SetCataloguePlan(ctx, a.ID, "enterprise"); err != nil {
			t.Fatal(err)
		}
		got, err = c.GetCatalogue(ctx, a.ID)
		if err != nil || got.Region != "us" || got.Plan != "enterprise" || got.Domains != nil {
			t.Fatalf("GetCatalogue = %+v, %v", got, err)
		}
		list, err := c.ListCatalogue(ctx, store.Page{})
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
			t.Fatalf("ListCatalogue = %+v, %v", list, err)
		}
		if err := c.DeleteCatalogue(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetCatalogue(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		// The catalogue is not a tenant table: exports and purges skip it.
		tables, err := db.TenantData().TenantTables(ctx)
		if err != nil || slices.Contains(tables, "tenant_catalogue") {
			t.Errorf("tenant tables %v, %v", tables, err)
		}
	})
}
