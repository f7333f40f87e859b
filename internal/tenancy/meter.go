package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/memo"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrMAULimit refuses the login of a user not yet counted this month by a
// tenant whose plan's MAU limit is hard and reached.
var ErrMAULimit = errors.New("tenancy: the tenant's monthly active user limit is reached")

// Month is the metering month of t: YYYY-MM in UTC.
func Month(t time.Time) string { return t.UTC().Format("2006-01") }

// Meter meters tenants' usage. Monthly active users are exact: one
// insert-or-ignore per (tenant, month, user), written in the caller's
// transaction (the session's or the token's), so a crash can neither
// drop nor double one. Counters are cheap: Add sums deltas in memory and
// Run flushes them every second with an upsert adding the deltas, so a
// crash loses at most the last second of counters, never an active user.
type Meter struct {
	Store store.Store
	Audit *events.Recorder
	Log   *slog.Logger
	Now   func() time.Time
	// Tap, when set, is told of every Add (the process's metrics).
	Tap func(metric string, n int64)
	// Dash, when set, is also given every count Add makes (the console
	// dashboard's per-minute rollups keep the ones it shows).
	Dash interface {
		Add(tenant store.TenantID, metric string, n int64)
	}

	mu      sync.Mutex
	pending map[deltaKey]int64
	// recheck names the limits whose thresholds Flush checks again after
	// the writes that may have crossed them committed (see Observe).
	recheck map[deltaKey]struct{}
	// counted remembers the users MarkActiveNow saw counted (a key of a
	// past month is never asked for again).
	counted memo.Set[activeKey]
}

type activeKey struct {
	tenant      store.TenantID
	month, user string
}

type deltaKey struct {
	tenant        store.TenantID
	month, metric string
}

func (m *Meter) month() string { return Month(m.Now()) }

// Add counts n of metric for tenant in the current month. It never blocks
// on the database; nil meters and the platform pseudo-tenant count nothing.
func (m *Meter) Add(tenant store.TenantID, metric string, n int64) {
	if m == nil || tenant == "" || tenant == store.PlatformTenant || n == 0 {
		return
	}
	if m.Tap != nil {
		m.Tap(metric, n)
	}
	if m.Dash != nil {
		m.Dash.Add(tenant, metric, n)
	}
	k := deltaKey{tenant, m.month(), metric}
	m.mu.Lock()
	if m.pending == nil {
		m.pending = map[deltaKey]int64{}
	}
	m.pending[k] += n
	m.mu.Unlock()
}

// Flush writes the pending counters. On failure they are put back, to be
// added by the next flush.
func (m *Meter) Flush(ctx context.Context) error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	p := m.pending
	m.pending = nil
	m.mu.Unlock()
	if len(p) == 0 {
		return m.flushRecheck(ctx)
	}
	deltas := make([]store.UsageDelta, 0, len(p))
	for k, n := range p {
		deltas = append(deltas, store.UsageDelta{Tenant: k.tenant, Month: k.month, Metric: k.metric, N: n})
	}
	if err := m.Store.Usage().AddUsage(ctx, deltas); err != nil {
		m.mu.Lock()
		if m.pending == nil {
			m.pending = map[deltaKey]int64{}
		}
		for k, n := range p {
			m.pending[k] += n
		}
		m.mu.Unlock()
		return errors.Join(err, m.flushRecheck(ctx))
	}
	return m.flushRecheck(ctx)
}

// Run flushes every interval until ctx ends, then once more.
func (m *Meter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			m.logErr(m.Flush(fctx))
			cancel()
			return
		case <-t.C:
			m.logErr(m.Flush(ctx))
		}
	}
}

func (m *Meter) logErr(err error) {
	switch {
	case err == nil || m.Log == nil:
	case errors.Is(err, store.ErrBusy): // contention: the next flush retries
		m.Log.Debug("usage counters not flushed: database busy; retrying", "err", err)
	default:
		m.Log.Warn("usage counters not flushed; retrying", "err", err)
	}
}

// Admit refuses (ErrMAULimit) a user not yet active this month when the
// tenant's plan has a hard MAU limit that is reached. A user already
// counted this month is always admitted.
func (m *Meter) Admit(ctx context.Context, tenant store.TenantID, userID string) error {
	if m == nil {
		return nil
	}
	plan, err := m.plan(ctx, m.Store, tenant)
	if err != nil || plan == nil || plan.Overage != store.OverageHard || plan.Limits.MAU == nil {
		return err
	}
	month := m.month()
	u := m.Store.Usage()
	if ok, err := u.IsActive(ctx, tenant, month, userID); err != nil || ok {
		return err
	}
	n, err := u.CountActive(ctx, tenant, month)
	if err != nil {
		return err
	}
	if n >= *plan.Limits.MAU {
		// The logins that reached the limit may have raced one another
		// and each seen a count below it: the next flush makes sure the
		// 100% event is out.
		m.queue(tenant, month, "mau")
		return ErrMAULimit
	}
	return nil
}

// MarkActive counts userID as active in tenant this month through repos
// (the caller's transaction) and reports a crossed MAU threshold. A user
// MarkActiveNow has seen counted this month is not written again.
func (m *Meter) MarkActive(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	if m == nil || m.counted.Has(activeKey{tenant, m.month(), userID}) {
		return nil
	}
	return m.markActive(ctx, repos, tenant, userID)
}

// MarkActiveNow is MarkActive outside any transaction (the token path):
// its insert commits by itself, so afterwards this node remembers, for the
// month, that the user is counted, and skips the insert for every later
// token of the user. A month's row is never deleted (erasure keeps it),
// so what is remembered stays true.
func (m *Meter) MarkActiveNow(ctx context.Context, tenant store.TenantID, userID string) error {
	if m == nil {
		return nil
	}
	k := activeKey{tenant, m.month(), userID}
	if m.counted.Has(k) {
		return nil
	}
	if err := m.markActive(ctx, m.Store, tenant, userID); err != nil {
		return err
	}
	m.counted.Add(k)
	return nil
}

func (m *Meter) markActive(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	added, err := repos.Usage().MarkActive(ctx, tenant, m.month(), userID)
	if err != nil || !added {
		return err
	}
	plan, err := m.plan(ctx, repos, tenant)
	if err != nil || plan == nil || plan.Limits.MAU == nil {
		return err
	}
	month := m.month()
	n, err := repos.Usage().CountActive(ctx, tenant, month)
	if err != nil {
		return err
	}
	m.queue(tenant, month, "mau")
	return m.threshold(ctx, repos, tenant, plan, "mau", month, n, *plan.Limits.MAU)
}

// Plan answers the tenant's plan, nil when it has none or m is nil.
func (m *Meter) Plan(ctx context.Context, tenant store.TenantID) (*store.Plan, error) {
	if m == nil {
		return nil, nil
	}
	return m.plan(ctx, m.Store, tenant)
}

func (m *Meter) plan(ctx context.Context, repos store.Repos, tenant store.TenantID) (*store.Plan, error) {
	name, err := repos.Usage().TenantPlan(ctx, tenant)
	if err != nil || name == "" {
		return nil, err
	}
	return repos.Usage().GetPlan(ctx, name)
}

// Threshold records a usage.threshold audit entry (which the event
// outbox, an observer of the recorder, turns into the usage.threshold
// event in the same transaction) the first time in the month that used
// reaches 80% and 100% of limit. The first time is decided by the
// database: an insert-or-ignore of a (tenant, month, limit, percent) row
// in repos' transaction, so nodes racing each other record it once.
func (m *Meter) Threshold(ctx context.Context, repos store.Repos, tenant store.TenantID, plan *store.Plan, name string, used, limit int64) error {
	if m == nil {
		return nil
	}
	return m.threshold(ctx, repos, tenant, plan, name, m.month(), used, limit)
}

func (m *Meter) threshold(ctx context.Context, repos store.Repos, tenant store.TenantID, plan *store.Plan, name, month string, used, limit int64) error {
	if limit <= 0 {
		return nil
	}
	for _, pct := range []int{80, 100} {
		if used*100 < limit*int64(pct) {
			continue
		}
		first, err := repos.Usage().MarkThreshold(ctx, tenant, month, name, pct, m.Now())
		if err != nil || !first {
			if err != nil {
				return err
			}
			continue
		}
		if m.Audit == nil {
			continue
		}
		err = m.Audit.Record(ctx, repos, events.Actor{Type: "system", ID: "metering"}, events.Entry{
			Tenant: tenant, Action: "usage.threshold", TargetType: "plan", TargetID: plan.Name,
			Changes: events.Changes{
				"limit":   {After: name},
				"percent": {After: pct},
				"used":    {After: used},
				"max":     {After: limit},
				"month":   {After: month},
			},
		})
		if err != nil {
			return fmt.Errorf("usage threshold: %w", err)
		}
	}
	return nil
}

// FlushQuietly flushes pending counters before a read of usage, so a node
// answers with its own latest counts; a failure is logged and retried.
func (m *Meter) FlushQuietly(ctx context.Context) {
	if m != nil {
		m.logErr(m.Flush(ctx))
	}
}
