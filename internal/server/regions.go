package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/region"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// openCatalogue opens the tenant catalogue of a deployment split into
// regions (docs/regions.md): the database of GATEHOUSE_DB, which is the
// node's own database when the two are the same. Nil without regions.
func openCatalogue(ctx context.Context, cfg config.Config, db *sqlstore.DB, nodeDSN string) (*sqlstore.DB, error) {
	if !cfg.RegionsOn() {
		return nil, nil
	}
	_, dsn := cfg.DSN()
	if dsn == nodeDSN {
		return db, nil
	}
	cat, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, dsn, sqlstore.Options{MaxOpenConns: 4})
	if err != nil {
		return nil, fmt.Errorf("catalogue database (GATEHOUSE_DB): %w", err)
	}
	return cat, nil
}

// newPlacement answers the tenancy service's regions, nil without them.
func newPlacement(cfg config.Config, db, catalogue *sqlstore.DB) *tenancy.Placement {
	if catalogue == nil {
		return nil
	}
	p := &tenancy.Placement{Catalogue: catalogue.Catalogue(), Region: cfg.Region, Regions: cfg.RegionNames()}
	if catalogue != db {
		p.PlatformKeys = catalogue.APIKeys()
	}
	return p
}

// newRegionRouter answers the middleware that forwards other regions'
// tenants, or nil without regions.
func newRegionRouter(cfg config.Config, tenants *tenancy.Service, log *slog.Logger) (*region.Router, error) {
	if tenants.Placement == nil {
		return nil, nil
	}
	return region.New(tenants, cfg.Region, cfg.RegionURLMap(), log)
}

// routeRegions wraps h in the region router when there is one.
func (a *App) routeRegions(h http.Handler) http.Handler {
	if a.surfaces.regions == nil {
		return h
	}
	return a.surfaces.regions.Wrap(h)
}

// closeCatalogue closes the catalogue when it is a database of its own.
func (a *App) closeCatalogue() {
	if a.Catalogue != nil && a.Catalogue != a.DB {
		a.Catalogue.Close()
	}
}
