package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type dashboardRepo struct{ *scope }

var _ store.DashboardRepos = dashboardRepo{}

func (s *scope) Dashboard() store.DashboardRepos { return dashboardRepo{s} }

// minuteOf is the unix second that starts t's minute.
func minuteOf(t time.Time) int64 { return t.Unix() - ((t.Unix()%60)+60)%60 }

// AddDashCounts is one upsert per count: the row of a tenant's metric in a
// minute is created or has the count added, so counts flushed by several
// nodes add up.
func (r dashboardRepo) AddDashCounts(ctx context.Context, counts []store.DashCount) error {
	if len(counts) == 0 {
		return nil
	}
	return r.write(ctx, func(q querier) error {
		for _, c := range counts {
			if c.Tenant == "" || c.Metric == "" {
				return errors.New("sqlstore: a dashboard count needs a tenant and a metric")
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO dashboard_counts (tenant_id, metric, minute, n)
SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
ON CONFLICT (tenant_id, metric, minute) DO UPDATE SET n = dashboard_counts.n + excluded.n`,
				string(c.Tenant), c.Metric, minuteOf(c.Minute), c.N); err != nil {
				return wrapErr("add dashboard counts", err)
			}
		}
		return nil
	})
}

// SampleDashGauges writes three rows per tenant, each value a correlated
// count over the tenant's own rows (their primary keys lead with the
// tenant), so a tenant whose sessions all ended reads zero, not its last
// non-zero sample.
func (r dashboardRepo) SampleDashGauges(ctx context.Context, at time.Time, tenant store.TenantID) error {
	minute, now := minuteOf(at), at.UnixMicro()
	gauges := []struct{ metric, count string }{
		{store.DashGaugeSessions, `SELECT COUNT(*) FROM sessions s WHERE s.tenant_id = t.id AND s.revoked_at IS NULL AND s.expires_at > $4`},
		{store.DashGaugeUsers, `SELECT COUNT(*) FROM users u WHERE u.tenant_id = t.id`},
		{store.DashGaugeMFAUsers, `SELECT COUNT(DISTINCT f.user_id) FROM mfa_factors f WHERE f.tenant_id = t.id AND f.confirmed = 1`},
	}
	return r.write(ctx, func(q querier) error {
		for _, g := range gauges {
			args := []any{g.metric, minute, string(tenant)}
			if g.metric == store.DashGaugeSessions {
				args = append(args, now)
			}
			// The WHERE ends the SELECT, so SQLite does not read the
			// upsert's ON as a join constraint.
			if _, err := q.ExecContext(ctx, `INSERT INTO dashboard_counts (tenant_id, metric, minute, n)
SELECT t.id, $1, $2, (`+g.count+`) FROM tenants t WHERE (CAST($3 AS TEXT) = '' OR t.id = $3)
ON CONFLICT (tenant_id, metric, minute) DO UPDATE SET n = excluded.n`, args...); err != nil {
				return wrapErr("sample dashboard gauges", err)
			}
		}
		return nil
	})
}

func (r dashboardRepo) DashSeries(ctx context.Context, tenant store.TenantID, from, to time.Time, step time.Duration) ([]store.DashPoint, error) {
	stepSec := int64(step / time.Second)
	if stepSec < 60 || stepSec%60 != 0 {
		return nil, errors.New("sqlstore: a dashboard step is a whole number of minutes")
	}
	rows, err := r.q.QueryContext(ctx, `SELECT (minute / $1) * $1 AS at, metric, SUM(n), MAX(n) FROM dashboard_counts
WHERE tenant_id = $2 AND minute >= $3 AND minute < $4
GROUP BY (minute / $1) * $1, metric ORDER BY at, metric`, stepSec, string(tenant), minuteOf(from), minuteOf(to))
	if err != nil {
		return nil, wrapErr("dashboard series", err)
	}
	defer rows.Close()
	var out []store.DashPoint
	for rows.Next() {
		var p store.DashPoint
		var at int64
		if err := rows.Scan(&at, &p.Metric, &p.Sum, &p.Max); err != nil {
			return nil, wrapErr("dashboard series", err)
		}
		p.At = time.Unix(at, 0).UTC()
		out = append(out, p)
	}
	return out, wrapErr("dashboard series", rows.Err())
}

func (r dashboardRepo) LatestDashGauges(ctx context.Context, tenant store.TenantID, at time.Time) (map[string]int64, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT d.metric, d.n FROM dashboard_counts d
WHERE d.tenant_id = $1 AND d.metric IN ($2, $3, $4) AND d.minute = (
  SELECT MAX(e.minute) FROM dashboard_counts e WHERE e.tenant_id = $1 AND e.metric = d.metric AND e.minute <= $5)`,
		string(tenant), store.DashGaugeSessions, store.DashGaugeUsers, store.DashGaugeMFAUsers, minuteOf(at))
	if err != nil {
		return nil, wrapErr("latest dashboard gauges", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			return nil, wrapErr("latest dashboard gauges", err)
		}
		out[m] = n
	}
	return out, wrapErr("latest dashboard gauges", rows.Err())
}

func (r dashboardRepo) SweepDash(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM dashboard_counts WHERE minute < $1`, minuteOf(before))
		if err != nil {
			return wrapErr("sweep dashboard", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("sweep dashboard", err)
	})
	return n, err
}
