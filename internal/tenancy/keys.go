package tenancy

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RetireAfter is how long a retired signing key stays published: longer
// than any token it signed can live (ID and access tokens: 24 h at most).
const RetireAfter = 24*time.Hour + 5*time.Minute

// DefaultKeyMaxAge is when automatic rotation replaces an active key.
const DefaultKeyMaxAge = 90 * 24 * time.Hour

// RotateKeys rotates the tenant's signing keys (see keys.Manager.Rotate)
// and audits it. store.ErrConflict when another rotation won a race.
func (s *Service) RotateKeys(ctx context.Context, actor events.Actor, tenant store.TenantID) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := s.Keys.Rotate(ctx, tx, tenant, RetireAfter); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "keys.rotate",
			TargetType: "tenant", TargetID: string(tenant)})
	})
}

// RotateDue rotates the keys of every tenant whose last rotation (or
// creation) is older than maxAge: each rotation makes a new next key, so
// the age of the newest next key is the time since the last one. It
// answers how many tenants it rotated.
func (s *Service) RotateDue(ctx context.Context, maxAge time.Duration) (int, error) {
	n := 0
	p := store.Page{Limit: 500}
	now := s.Now()
	for {
		ts, err := s.Store.Tenants().ListTenants(ctx, p)
		if err != nil {
			return n, err
		}
		for _, t := range ts {
			ks, err := s.Store.SigningKeys().ListSigningKeys(ctx, t.ID)
			if err != nil {
				return n, err
			}
			var newest time.Time
			for _, k := range ks {
				if k.Status == store.KeyNext && k.CreatedAt.After(newest) {
					newest = k.CreatedAt
				}
			}
			due := !newest.IsZero() && now.Sub(newest) > maxAge
			if !due {
				continue
			}
			if err := s.RotateKeys(ctx, events.Actor{Type: "system", ID: "key-rotation"}, t.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(ts) < p.ClampLimit() {
			return n, nil
		}
		p.After = string(ts[len(ts)-1].ID)
	}
}
