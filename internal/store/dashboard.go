package store

import (
	"context"
	"strings"
	"time"
)

// Dashboard gauge metrics: samples of a tenant's state, not counts of
// events. A gauge's row holds the value sampled in that minute; reads over
// a longer step take the largest sample. Every other dashboard metric is a
// counter whose rows add up.
const (
	DashGaugePrefix   = "gauge."
	DashGaugeSessions = "gauge.sessions"  // sessions neither ended nor expired
	DashGaugeUsers    = "gauge.users"     // users of the tenant
	DashGaugeMFAUsers = "gauge.mfa_users" // users with a confirmed second factor
)

// DashRiskPrefix prefixes the counters of risk decisions of sign-ins:
// "risk.allow", "risk.step_up", "risk.block".
const DashRiskPrefix = "risk."

// IsDashGauge reports whether metric is a gauge (see DashGaugePrefix).
func IsDashGauge(metric string) bool { return strings.HasPrefix(metric, DashGaugePrefix) }

// DashCount adds N to one tenant's counter in the minute that starts at
// Minute (truncated to the minute by the store).
type DashCount struct {
	Tenant TenantID
	Minute time.Time
	Metric string
	N      int64
}

// DashPoint is one metric in one step of a series: At is the step's start,
// Sum the counters added in it (for a gauge, the sum of its samples), Max
// the largest single minute's value (a gauge's reading).
type DashPoint struct {
	At     time.Time
	Metric string
	Sum    int64
	Max    int64
}

// DashboardRepos stores the console dashboard's per-tenant, per-minute
// rollups. They are written by the dashboard's in-memory batcher and by
// the gauge sampler, never derived from the audit log.
type DashboardRepos interface {
	// AddDashCounts adds every count to its minute's row in one
	// transaction; counts of tenants that no longer exist are dropped.
	AddDashCounts(ctx context.Context, counts []DashCount) error
	// SampleDashGauges writes, for every tenant (or only tenant, when it
	// is not ""), the gauges' values as of at into at's minute (replacing
	// a sample already there): active sessions, users, and users with a
	// confirmed second factor, zeros included.
	SampleDashGauges(ctx context.Context, at time.Time, tenant TenantID) error
	// DashSeries answers tenant's rows with from <= minute < to, summed
	// per metric into steps of step (a whole number of minutes, at least
	// one) aligned to the unix epoch, ordered by step then metric. Steps
	// without rows are absent.
	DashSeries(ctx context.Context, tenant TenantID, from, to time.Time, step time.Duration) ([]DashPoint, error)
	// LatestDashGauges answers tenant's most recent sample of each gauge
	// at or before at (gauges never sampled are absent).
	LatestDashGauges(ctx context.Context, tenant TenantID, at time.Time) (map[string]int64, error)
	// SweepDash deletes every tenant's rows of minutes before before and
	// answers how many it deleted.
	SweepDash(ctx context.Context, before time.Time) (int64, error)
}
