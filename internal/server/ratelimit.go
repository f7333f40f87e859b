package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// openLimiter builds the per-tenant rate limiter: its buckets live in
// Redis when redis_url is set (a.redis), else in the database every node
// shares.
func (a *App) openLimiter() {
	l := &ratelimit.Limiter{
		Buckets: a.DB.RateBuckets(),
		Limit:   a.rateLimit,
		Resolve: a.resolveTenantRef,
		Now:     a.now,
		Log:     a.Log,
		// Refusals per tenant for the metrics (domainmetrics.go).
		OnRefuse: a.stats.refused,
	}
	if a.redis != nil {
		l.Buckets = a.redis
	}
	a.Limiter = l
}

// openRedis connects to redis_url when it is set (nil when not): the rate
// limiter's buckets and the DPoP replay cache share its connections.
func openRedis(ctx context.Context, cfg config.Config) (*ratelimit.Redis, error) {
	url := string(cfg.RedisURL)
	if url == "" {
		return nil, nil
	}
	r, err := ratelimit.NewRedis(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("redis_url: %w", err)
	}
	return r, nil
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

// rateLimit is a tenant's limit on a bucket: its settings' rate_limits
// when they name one, else its plan's api_rps (read through planRPS).
func (a *App) rateLimit(t *store.Tenant, bucket string) int {
	if n := tenancy.RateLimit(t, bucket); n > 0 || t == nil {
		return n
	}
	return a.planRPS.get(a, t.ID)
}

// planRPSCache keeps each tenant's plan api_rps for two seconds, as the
// tenant cache keeps settings: a plan change reaches every node within
// that time, and a request costs no database read.
type planRPSCache struct {
	mu sync.Mutex
	m  map[store.TenantID]planRPSEntry
}

type planRPSEntry struct {
	rps int
	at  time.Time
}

func (c *planRPSCache) get(a *App, tenant store.TenantID) int {
	now := a.now()
	c.mu.Lock()
	e, ok := c.m[tenant]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < 2*time.Second {
		return e.rps
	}
	rps := 0
	if plan, err := a.Meter.Plan(context.Background(), tenant); err != nil {
		a.Log.Warn("rate limit: plan not read", "tenant", tenant, "err", err)
	} else if plan != nil && plan.Limits.APIRPS != nil {
		rps = int(*plan.Limits.APIRPS)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[store.TenantID]planRPSEntry{}
	}
	c.m[tenant] = planRPSEntry{rps, now}
	c.mu.Unlock()
	return rps
}
