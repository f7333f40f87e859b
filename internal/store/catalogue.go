package store

import (
	"context"
	"time"
)

// CatalogueEntry is one tenant of the global catalogue of a deployment
// split into regions: where its rows live, and nothing personal.
type CatalogueEntry struct {
	ID     TenantID
	Slug   string
	Region string
	// Domains are the tenant's custom domains (host names).
	Domains   []string
	Plan      string
	UpdatedAt time.Time
}

// Catalogue is the global tenant catalogue (table tenant_catalogue of the
// catalogue database). It is not tenant-scoped: it maps every tenant of
// every region to its region.
type Catalogue interface {
	// PutCatalogue inserts e; ErrConflict when its id or slug is taken.
	PutCatalogue(ctx context.Context, e *CatalogueEntry) error
	// GetCatalogue and GetCatalogueBySlug answer ErrNotFound when absent.
	GetCatalogue(ctx context.Context, id TenantID) (*CatalogueEntry, error)
	GetCatalogueBySlug(ctx context.Context, slug string) (*CatalogueEntry, error)
	// MoveCatalogue sets the region of id, but only while it is still
	// from: ErrConflict when it is not (another move won), ErrNotFound
	// when there is no such entry.
	MoveCatalogue(ctx context.Context, id TenantID, from, to string) error
	// SetCataloguePlan records the tenant's plan; ErrNotFound when absent.
	SetCataloguePlan(ctx context.Context, id TenantID, plan string) error
	// DeleteCatalogue removes id's entry; no error when there is none.
	DeleteCatalogue(ctx context.Context, id TenantID) error
	// ListCatalogue answers a page of entries ordered by id.
	ListCatalogue(ctx context.Context, p Page) ([]CatalogueEntry, error)
}
