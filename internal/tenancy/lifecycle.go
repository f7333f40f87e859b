package tenancy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// DefaultPurgeGrace is how long a deleted tenant can be restored before the
// purge job removes its rows.
const DefaultPurgeGrace = 30 * 24 * time.Hour

// ErrNotDeleted answers a restore or purge of a tenant that is not deleted.
var ErrNotDeleted = errors.New("tenancy: the tenant is not deleted")

func (s *Service) purgeGrace() time.Duration {
	if s.PurgeGrace > 0 {
		return s.PurgeGrace
	}
	return DefaultPurgeGrace
}

// checkStatus applies a PATCH's status to t: active and suspended only; a
// deleted tenant comes back through RestoreTenant.
func checkStatus(c *valid.Collector, t *store.Tenant, st store.TenantStatus) {
	switch {
	case t.Status == store.TenantDeleted:
		c.Add("status", "deleted", "A deleted tenant is restored with POST /api/v1/tenants/{tenant}/restore.")
	case st != store.TenantActive && st != store.TenantSuspended:
		c.Add("status", "invalid", "The status is active or suspended.")
	default:
		t.Status = st
	}
}

// DeleteTenant marks a tenant deleted: it disappears from the tenant list
// and its issuer, and the purge job removes its rows once the grace period
// has passed. Until then RestoreTenant brings it back unchanged.
// Errors: store.ErrNotFound (also for a tenant already deleted).
func (s *Service) DeleteTenant(ctx context.Context, actor events.Actor, id store.TenantID) error {
	var slug string
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		t, err := tx.Tenants().UpdateTenant(ctx, id, func(t *store.Tenant) error {
			if t.Status == store.TenantDeleted {
				return store.ErrNotFound
			}
			before = lifecycleFields(t)
			at := s.now().Add(s.purgeGrace())
			t.Status, t.PurgeAt = store.TenantDeleted, &at
			return nil
		})
		if err != nil {
			return err
		}
		slug = t.Slug
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.delete", TargetType: "tenant", TargetID: string(id),
			Changes: events.Diff(before, lifecycleFields(t))})
	})
	s.forgetSlug(slug)
	return err
}

// RestoreTenant brings a deleted tenant back as active before its purge.
// Errors: store.ErrNotFound, ErrNotDeleted.
func (s *Service) RestoreTenant(ctx context.Context, actor events.Actor, id store.TenantID) (*store.Tenant, error) {
	var out *store.Tenant
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		t, err := tx.Tenants().UpdateTenant(ctx, id, func(t *store.Tenant) error {
			if t.Status != store.TenantDeleted {
				return ErrNotDeleted
			}
			before = lifecycleFields(t)
			t.Status, t.PurgeAt = store.TenantActive, nil
			return nil
		})
		if err != nil {
			return err
		}
		out = t
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.restore", TargetType: "tenant", TargetID: string(id),
			Changes: events.Diff(before, lifecycleFields(t))})
	})
	if out != nil {
		s.forgetSlug(out.Slug)
	}
	return out, err
}

// PurgeTenant removes every row of a deleted tenant, whatever its purge
// time, and records the purge with the rows removed per table on the
// platform's audit chain. Errors: store.ErrNotFound, ErrNotDeleted.
func (s *Service) PurgeTenant(ctx context.Context, actor events.Actor, id store.TenantID) (map[string]int64, error) {
	var counts map[string]int64
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		t, err := tx.Tenants().GetTenant(ctx, id)
		if err != nil {
			return err
		}
		if t.Status != store.TenantDeleted {
			return ErrNotDeleted
		}
		counts, err = tx.TenantData().PurgeTenant(ctx, id)
		if err != nil {
			return err
		}
		// Each table's rows before and after: the counts removed.
		changes := events.Changes{"slug": {Before: t.Slug}}
		for table, n := range counts {
			changes["rows."+table] = events.Change{Before: n, After: 0}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.purge", TargetType: "tenant", TargetID: string(id), Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	if err := s.forgetPlacement(ctx, id); err != nil { // regions.go
		return counts, err
	}
	return counts, nil
}

// PurgeDue purges every deleted tenant whose purge time has come, at most
// limit of them per call, and answers how many it purged. One tenant's
// failure does not stop the others; the errors are joined.
func (s *Service) PurgeDue(ctx context.Context, limit int) (int, error) {
	due, err := s.Store.Tenants().ListPurgeDue(ctx, s.now(), limit)
	if err != nil {
		return 0, err
	}
	actor := events.Actor{Type: "system", ID: "tenant-purge"}
	n := 0
	var errs []error
	for _, t := range due {
		if _, err := s.PurgeTenant(ctx, actor, t.ID); err != nil {
			errs = append(errs, fmt.Errorf("purge tenant %s: %w", t.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func lifecycleFields(t *store.Tenant) map[string]any {
	m := map[string]any{"status": string(t.Status)}
	if t.PurgeAt != nil {
		m["purge_at"] = t.PurgeAt.Format(time.RFC3339)
	}
	return m
}

// forgetSlug drops slug from this node's resolver cache, so a lifecycle
// change shows at once here (other nodes see it within slugTTL).
func (s *Service) forgetSlug(slug string) {
	if slug == "" {
		return
	}
	s.slugs.mu.Lock()
	delete(s.slugs.m, slug)
	s.slugs.mu.Unlock()
}
