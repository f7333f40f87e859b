package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// counted counts the takes reaching the real store.
type counted struct {
	store.RateBuckets
	n atomic.Int64
}

func (c *counted) Take(ctx context.Context, tn store.TenantID, b string, now time.Time, i time.Duration, burst int) (bool, time.Time, error) {
	c.n.Add(1)
	return c.RateBuckets.Take(ctx, tn, b, now, i, burst)
}

// run sends requests of one tenant at rate per second, alternating two
// limiters (two nodes) on one database, for span of simulated time, and
// answers the admitted count and the store takes.
func run(t *testing.T, noLease bool, limit, rate int, span time.Duration) (admitted int, takes int64) {
	t.Helper()
	db := sqltest.OpenSQLite(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tn := &store.Tenant{ID: "t1", Slug: "t1", Name: "t", Version: 1, CreatedAt: start, UpdatedAt: start,
		Settings: []byte(fmt.Sprintf(`{"rate_limits":{"token_rps":%d}}`, limit))}
	if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	now := start
	buckets := &counted{RateBuckets: db.RateBuckets()}
	var nodes [2]*ratelimit.Limiter
	for i := range nodes {
		nodes[i] = &ratelimit.Limiter{Buckets: buckets, Limit: tenancy.RateLimit, NoLease: noLease,
			Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	}
	step := time.Second / time.Duration(rate)
	for i := range int(span / step) {
		d, limited := nodes[i%2].Decide(ctx, tn, tenancy.BucketToken)
		if !limited {
			t.Fatal("a limited tenant was not decided")
		}
		if d.OK {
			admitted++
		}
		now = now.Add(step)
	}
	return admitted, buckets.n.Load()
}

// TestLeaseExactness: the fast path keeps two nodes within 10% of the
// limit when a tenant sends at twice its limit, admits everything of a
// tenant at half its limit, and then saves most store writes.
func TestLeaseExactness(t *testing.T) {
	const limit, span = 100, 10 * time.Second
	for _, noLease := range []bool{true, false} {
		flood, floodTakes := run(t, noLease, limit, 2*limit, span)
		quiet, quietTakes := run(t, noLease, limit, limit/2, span)
		rate := float64(flood-limit) / span.Seconds() // past the initial burst
		t.Logf("lease off=%v: at 2x the limit %.1f/s admitted (%d store takes for %d requests); at 0.5x %d of %d admitted, %d store takes",
			noLease, rate, floodTakes, 2*limit*10, quiet, limit/2*10, quietTakes)
		if d := rate/limit - 1; d > 0.1 || d < -0.1 {
			t.Errorf("lease off=%v: %.1f/s admitted at twice the limit, want within 10%% of %d/s", noLease, rate, limit)
		}
		if quiet != limit/2*10 {
			t.Errorf("lease off=%v: %d of %d admitted at half the limit, want all", noLease, quiet, limit/2*10)
		}
		if !noLease && quietTakes*2 > int64(quiet) {
			t.Errorf("fast path: %d store takes for %d requests under the limit, want under half", quietTakes, quiet)
		}
	}
}

// TestLeaseConcurrentBurst: many requests at once on two nodes, at one
// instant and a full bucket, then more one by one at the same instant:
// exactly the burst is admitted in all. Leases taken concurrently keep
// each other's tokens (already spent in the shared bucket).
func TestLeaseConcurrentBurst(t *testing.T) {
	const limit = 100
	db := sqltest.OpenSQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tn := &store.Tenant{ID: "t1", Slug: "t1", Name: "t", Version: 1, CreatedAt: now, UpdatedAt: now,
		Settings: []byte(fmt.Sprintf(`{"rate_limits":{"api_rps":%d}}`, limit))}
	if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	var nodes [2]*ratelimit.Limiter
	for i := range nodes {
		nodes[i] = &ratelimit.Limiter{Buckets: db.RateBuckets(), Limit: tenancy.RateLimit,
			Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range 3 * limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, _ := nodes[i%2].Decide(ctx, tn, tenancy.BucketAPI); d.OK {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	concurrent := admitted.Load()
	for i := range 2 * limit {
		if d, _ := nodes[i%2].Decide(ctx, tn, tenancy.BucketAPI); d.OK {
			admitted.Add(1)
		}
	}
	if admitted.Load() != limit {
		t.Fatalf("admitted %d (%d concurrently), want exactly the burst %d", admitted.Load(), concurrent, limit)
	}
}
