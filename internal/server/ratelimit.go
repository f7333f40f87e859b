package server

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// openLimiter builds the per-tenant rate limiter: its buckets live in
// Redis when redis_url is set, else in the database every node shares.
func (a *App) openLimiter(ctx context.Context) error {
	l := &ratelimit.Limiter{
		Buckets: a.DB.RateBuckets(),
		Limit:   tenancy.RateLimit,
		Resolve: a.resolveTenantRef,
		Now:     a.now,
		Log:     a.Log,
	}
	if url := string(a.Config.RedisURL); url != "" {
		r, err := ratelimit.NewRedis(ctx, url)
		if err != nil {
			return fmt.Errorf("redis_url: %w", err)
		}
		l.Buckets, a.redis = r, r
	}
	a.Limiter = l
	return nil
}

// resolveTenantRef finds the tenant a management API path names: a slug
// from the short-lived cache every protocol endpoint uses, an id from the
// database.
func (a *App) resolveTenantRef(ctx context.Context, ref string) (*store.Tenant, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return a.Tenants.Resolve(ctx, ref)
	}
	return a.Tenants.ResolveSlug(ctx, ref)
}
