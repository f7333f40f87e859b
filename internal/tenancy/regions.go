package tenancy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

// Placement puts tenants in regions (docs/regions.md). Every tenant's rows
// live in its region's database, the one this node's Store is; the
// catalogue, shared by every region, says which region each tenant is in.
type Placement struct {
	// Catalogue is the global tenant catalogue (in GATEHOUSE_DB).
	Catalogue store.Catalogue
	// Region is this node's region; Regions every region there is.
	Region  string
	Regions []string
	// PlatformKeys, when the catalogue is another database than the
	// region's, are the catalogue database's API keys: a platform key
	// made there (gatehouse apikey create --platform with GATEHOUSE_DB)
	// works on the nodes of every region. Nil when they are the same.
	PlatformKeys store.APIKeys

	locs locCache
}

// locTTL is how long a node trusts a catalogue lookup, found or not; a
// moved tenant is followed within it.
const locTTL = 2 * time.Second

type locEntry struct {
	region  string
	expires time.Time
}

type locCache struct {
	mu sync.Mutex
	m  map[string]locEntry
}

// checkRegion validates the region a new tenant asks for: "" is this
// node's; another region's name is refused here (the region router
// forwards such a request to that region before it reaches the service).
func (s *Service) checkRegion(c *valid.Collector, r string) {
	switch {
	case r == "":
	case s.Placement == nil:
		c.Add("region", "invalid", "This deployment has no regions (GATEHOUSE_REGIONS).")
	case !slices.Contains(s.Placement.Regions, r):
		c.Add("region", "invalid", fmt.Sprintf("Region %q does not exist; the regions are %v.", r, s.Placement.Regions))
	case r != s.Placement.Region:
		c.Add("region", "invalid", fmt.Sprintf("This node serves region %q; create the tenant through a node of region %q.", s.Placement.Region, r))
	}
}

// claimSlug enters a new tenant in the catalogue before its rows are
// written, so two regions cannot create the same slug. The returned
// function removes the claim again (when the tenant's creation fails).
func (s *Service) claimSlug(ctx context.Context, t *store.Tenant, plan string) (func(), error) {
	if s.Placement == nil {
		return func() {}, nil
	}
	err := s.Placement.Catalogue.PutCatalogue(ctx, &store.CatalogueEntry{ID: t.ID, Slug: t.Slug, Region: s.Placement.Region, Plan: plan})
	if errors.Is(err, store.ErrConflict) {
		return nil, &valid.Conflict{Field: "slug", Cause: err}
	}
	if err != nil {
		return nil, err
	}
	return func() { _ = s.Placement.Catalogue.DeleteCatalogue(context.WithoutCancel(ctx), t.ID) }, nil
}

// notePlan records a tenant's new plan in the catalogue. The plan there
// only informs (billing, dashboards): the tenant's own rows decide its
// limits. So a failure here does not fail the change, already committed;
// SyncCatalogue puts the plan right at the next start.
func (s *Service) notePlan(ctx context.Context, id store.TenantID, plan string) {
	if s.Placement == nil {
		return
	}
	_ = s.Placement.Catalogue.SetCataloguePlan(ctx, id, plan)
}

// Elsewhere answers the region of the tenant ref (a slug or an id) when
// the catalogue places it in another region than this node's, and "" when
// it is this region's, unknown, or regions are off. Lookups are cached for
// a short while, unknown references included, so a flood of made-up slugs
// costs one catalogue read per slug and TTL.
func (s *Service) Elsewhere(ctx context.Context, ref string) (string, error) {
	p := s.Placement
	if p == nil || ref == "" || len(ref) > 64 {
		return "", nil
	}
	now := s.Now()
	p.locs.mu.Lock()
	e, ok := p.locs.m[ref]
	p.locs.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.region, nil
	}
	var (
		entry *store.CatalogueEntry
		err   error
	)
	if uuid.Validate(ref) == nil {
		entry, err = p.Catalogue.GetCatalogue(ctx, store.TenantID(ref))
	} else {
		entry, err = p.Catalogue.GetCatalogueBySlug(ctx, ref)
	}
	region := ""
	switch {
	case err == nil && entry.Region != p.Region:
		region = entry.Region
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	p.locs.mu.Lock()
	if p.locs.m == nil || len(p.locs.m) >= slugCacheMax {
		p.locs.m = map[string]locEntry{}
	}
	p.locs.m[ref] = locEntry{region: region, expires: now.Add(locTTL)}
	p.locs.mu.Unlock()
	return region, nil
}

// RegionOf answers the catalogue's entry of the tenant ref (slug or id):
// store.ErrNotFound when regions are off or there is none.
func (s *Service) RegionOf(ctx context.Context, ref string) (*store.CatalogueEntry, error) {
	if s.Placement == nil || len(ref) > 64 {
		return nil, store.ErrNotFound
	}
	if uuid.Validate(ref) == nil {
		return s.Placement.Catalogue.GetCatalogue(ctx, store.TenantID(ref))
	}
	return s.Placement.Catalogue.GetCatalogueBySlug(ctx, ref)
}

// SyncCatalogue enters every tenant of this region's database that the
// catalogue lacks (a deployment that turns regions on, or a tenant created
// while the catalogue was unreachable), puts right plans that differ, and
// answers how many tenants it added. A slug the catalogue holds for
// another tenant is reported, not changed.
func (s *Service) SyncCatalogue(ctx context.Context) (int, error) {
	if s.Placement == nil {
		return 0, nil
	}
	n := 0
	var errs []error
	page := store.Page{Limit: 500}
	for {
		ts, err := s.Store.Tenants().ListTenants(ctx, page)
		if err != nil {
			return n, err
		}
		for _, t := range ts {
			plan, err := s.Store.Usage().TenantPlan(ctx, t.ID)
			if err != nil {
				return n, err
			}
			e, err := s.Placement.Catalogue.GetCatalogue(ctx, t.ID)
			switch {
			case err == nil && e.Plan != plan && e.Region == s.Placement.Region:
				if err := s.Placement.Catalogue.SetCataloguePlan(ctx, t.ID, plan); err != nil {
					return n, err
				}
				continue
			case err == nil:
				continue
			case !errors.Is(err, store.ErrNotFound):
				return n, err
			}
			err = s.Placement.Catalogue.PutCatalogue(ctx, &store.CatalogueEntry{ID: t.ID, Slug: t.Slug, Region: s.Placement.Region, Plan: plan})
			if err != nil {
				errs = append(errs, fmt.Errorf("catalogue: tenant %s (%s): %w", t.Slug, t.ID, err))
				continue
			}
			n++
		}
		if len(ts) < page.Limit {
			return n, errors.Join(errs...)
		}
		page.After = string(ts[len(ts)-1].ID)
	}
}

// forgetPlacement removes a purged tenant from the catalogue, if the
// catalogue still places it in this region (a tenant moved away is
// another region's entry now).
func (s *Service) forgetPlacement(ctx context.Context, id store.TenantID) error {
	if s.Placement == nil {
		return nil
	}
	e, err := s.Placement.Catalogue.GetCatalogue(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.Region != s.Placement.Region {
		return nil
	}
	return s.Placement.Catalogue.DeleteCatalogue(ctx, id)
}
