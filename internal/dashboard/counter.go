// Package dashboard keeps the console dashboard's numbers: counts of
// sign-ins, sign-ups and risk decisions rolled up per tenant per minute
// in the database, samples of gauges (active sessions, users, users with
// a second factor), a 90-day sweep, and the series the dashboard draws.
// Nothing here reads the audit log.
//
// Counting is cheap on the login path: Add sums counts in memory and Run
// writes them every few seconds with one upsert per (tenant, metric,
// minute), so several nodes add up and a crash loses at most the counts of
// the last flush interval.
package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Retention is how long rollups are kept.
const Retention = 90 * 24 * time.Hour

// Defaults of Run's intervals.
const (
	DefaultFlushEvery  = 5 * time.Second
	DefaultSampleEvery = 10 * time.Minute
	DefaultSweepEvery  = time.Hour
)

// counted names the counters the dashboard keeps; other metrics given to
// Add (the usage meter passes all of its own) are ignored.
var counted = map[string]bool{
	store.MetricLoginsSucceeded: true,
	store.MetricLoginsFailed:    true,
	store.MetricSignups:         true,
}

// Counter batches dashboard counts in memory and writes them to the store.
// The zero value is not usable: set Store and Now.
type Counter struct {
	Store store.Store
	Now   func() time.Time
	Log   *slog.Logger

	mu      sync.Mutex
	pending map[countKey]int64
	// sampled is when this node last sampled each tenant's gauges for a
	// page (Read), so a page shows gauges at most a minute old.
	sampled map[store.TenantID]time.Time
}

// FreshGauges is how old a tenant's gauges may be when Read answers;
// older, Read samples that tenant first.
const FreshGauges = time.Minute

type countKey struct {
	tenant store.TenantID
	metric string
	minute int64 // unix seconds of the minute's start
}

// Add counts n of metric for tenant in the current minute, if metric is
// one the dashboard shows (sign-ins, sign-ups, risk decisions). It never
// blocks on the database; a nil Counter and the platform pseudo-tenant
// count nothing.
func (c *Counter) Add(tenant store.TenantID, metric string, n int64) {
	if c == nil || tenant == "" || tenant == store.PlatformTenant || n == 0 {
		return
	}
	if !counted[metric] && !strings.HasPrefix(metric, store.DashRiskPrefix) {
		return
	}
	now := c.Now().Unix()
	k := countKey{tenant, metric, now - now%60}
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[countKey]int64{}
	}
	c.pending[k] += n
	c.mu.Unlock()
}

// Flush writes the pending counts. On failure they are put back for the
// next flush.
func (c *Counter) Flush(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	p := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(p) == 0 {
		return nil
	}
	counts := make([]store.DashCount, 0, len(p))
	for k, n := range p {
		counts = append(counts, store.DashCount{Tenant: k.tenant, Metric: k.metric, Minute: time.Unix(k.minute, 0).UTC(), N: n})
	}
	if err := c.Store.Dashboard().AddDashCounts(ctx, counts); err != nil {
		c.mu.Lock()
		if c.pending == nil {
			c.pending = map[countKey]int64{}
		}
		for k, n := range p {
			c.pending[k] += n
		}
		c.mu.Unlock()
		return err
	}
	return nil
}

// Sample writes the gauges' current values for every tenant.
func (c *Counter) Sample(ctx context.Context) error {
	return c.Store.Dashboard().SampleDashGauges(ctx, c.Now(), "")
}

// sampleTenant samples tenant's gauges unless this node did so less than
// FreshGauges ago.
func (c *Counter) sampleTenant(ctx context.Context, tenant store.TenantID) error {
	now := c.Now()
	c.mu.Lock()
	last, ok := c.sampled[tenant]
	c.mu.Unlock()
	if ok && now.Sub(last) < FreshGauges {
		return nil
	}
	if err := c.Store.Dashboard().SampleDashGauges(ctx, now, tenant); err != nil {
		return err
	}
	c.mu.Lock()
	if c.sampled == nil {
		c.sampled = map[store.TenantID]time.Time{}
	}
	c.sampled[tenant] = now
	c.mu.Unlock()
	return nil
}

// Sweep deletes rollups older than Retention.
func (c *Counter) Sweep(ctx context.Context) (int64, error) {
	return c.Store.Dashboard().SweepDash(ctx, c.Now().Add(-Retention))
}

// Run flushes every flushEvery, samples the gauges every sampleEvery
// (first right away) and sweeps every sweepEvery until ctx ends, then
// flushes once more. Zero intervals take the defaults.
func (c *Counter) Run(ctx context.Context, flushEvery, sampleEvery, sweepEvery time.Duration) {
	if c == nil {
		return
	}
	if flushEvery <= 0 {
		flushEvery = DefaultFlushEvery
	}
	if sampleEvery <= 0 {
		sampleEvery = DefaultSampleEvery
	}
	if sweepEvery <= 0 {
		sweepEvery = DefaultSweepEvery
	}
	flush, sample, sweep := time.NewTicker(flushEvery), time.NewTicker(sampleEvery), time.NewTicker(sweepEvery)
	defer flush.Stop()
	defer sample.Stop()
	defer sweep.Stop()
	c.logErr("sample", c.Sample(ctx))
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.logErr("flush", c.Flush(fctx))
			cancel()
			return
		case <-flush.C:
			c.logErr("flush", c.Flush(ctx))
		case <-sample.C:
			c.logErr("sample", c.Sample(ctx))
		case <-sweep.C:
			_, err := c.Sweep(ctx)
			c.logErr("sweep", err)
		}
	}
}

func (c *Counter) logErr(what string, err error) {
	switch {
	case err == nil || c.Log == nil || errors.Is(err, context.Canceled):
	case errors.Is(err, store.ErrBusy):
		c.Log.Debug("dashboard "+what+": database busy; retrying", "err", err)
	default:
		c.Log.Warn("dashboard "+what+" failed; retrying", "err", err)
	}
}
