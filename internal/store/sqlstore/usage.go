package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type usageRepo struct{ *scope }

var _ store.UsageRepos = usageRepo{}

func (s *scope) Usage() store.UsageRepos { return usageRepo{s} }

const planCols = `name, limits, overage, created_at, updated_at`

func scanPlan(r scanner) (*store.Plan, error) {
	var (
		p                store.Plan
		limits           string
		created, updated int64
	)
	if err := r.Scan(&p.Name, &limits, &p.Overage, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(limits), &p.Limits); err != nil {
		return nil, fmt.Errorf("plan limits: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

func (r usageRepo) CreatePlan(ctx context.Context, p *store.Plan) error {
	if p.Name == "" {
		return errors.New("sqlstore: plan needs a name")
	}
	limits, err := json.Marshal(p.Limits)
	if err != nil {
		return err
	}
	n := *p
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	err = r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO plans (`+planCols+`) VALUES ($1, $2, $3, $4, $5)`,
			n.Name, string(limits), n.Overage, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
		return wrapErr("create plan", err)
	})
	if err != nil {
		return err
	}
	*p = n
	return nil
}

func (r usageRepo) GetPlan(ctx context.Context, name string) (*store.Plan, error) {
	p, err := scanPlan(r.q.QueryRowContext(ctx, `SELECT `+planCols+` FROM plans WHERE name = $1`, name))
	return p, wrapErr("get plan", err)
}

func (r usageRepo) ListPlans(ctx context.Context) ([]store.Plan, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+planCols+` FROM plans ORDER BY name`)
	if err != nil {
		return nil, wrapErr("list plans", err)
	}
	defer rows.Close()
	var out []store.Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, wrapErr("list plans", err)
		}
		out = append(out, *p)
	}
	return out, wrapErr("list plans", rows.Err())
}

func (r usageRepo) UpdatePlan(ctx context.Context, name string, fn func(*store.Plan) error) (*store.Plan, error) {
	var out *store.Plan
	err := r.write(ctx, func(q querier) error {
		p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planCols+` FROM plans WHERE name = $1`+r.forUpdate(), name))
		if err != nil {
			return wrapErr("update plan", err)
		}
		if err := fn(p); err != nil {
			return err
		}
		p.Name = name
		p.UpdatedAt = r.db.nowMicro()
		limits, err := json.Marshal(p.Limits)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE plans SET limits = $1, overage = $2, updated_at = $3 WHERE name = $4`,
			string(limits), p.Overage, p.UpdatedAt.UnixMicro(), name); err != nil {
			return wrapErr("update plan", err)
		}
		out = p
		return nil
	})
	return out, err
}

func (r usageRepo) DeletePlan(ctx context.Context, name string) error {
	return r.write(ctx, func(q querier) error {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_plans WHERE plan_name = $1`, name).Scan(&n); err != nil {
			return wrapErr("delete plan", err)
		}
		if n > 0 {
			return fmt.Errorf("sqlstore: delete plan: %d tenants on it: %w", n, store.ErrConflict)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM plans WHERE name = $1`, name)
		if err != nil {
			return wrapErr("delete plan", err)
		}
		return oneRow(res, "delete plan")
	})
}

func (r usageRepo) SetTenantPlan(ctx context.Context, tenant store.TenantID, plan string) error {
	return r.write(ctx, func(q querier) error {
		if plan == "" {
			_, err := q.ExecContext(ctx, `DELETE FROM tenant_plans WHERE tenant_id = $1`, string(tenant))
			return wrapErr("clear tenant plan", err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO tenant_plans (tenant_id, plan_name) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET plan_name = excluded.plan_name`, string(tenant), plan)
		return wrapErr("set tenant plan", err)
	})
}

func (r usageRepo) TenantPlan(ctx context.Context, tenant store.TenantID) (string, error) {
	var name string
	err := r.q.QueryRowContext(ctx, `SELECT plan_name FROM tenant_plans WHERE tenant_id = $1`, string(tenant)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, wrapErr("tenant plan", err)
}

// MarkActive is one insert-or-ignore on the (tenant, month, user) key. The
// EXISTS guard drops the row of a tenant deleted meanwhile instead of
// failing on the foreign key.
func (r usageRepo) MarkActive(ctx context.Context, tenant store.TenantID, month, userID string) (bool, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO usage_active_users (tenant_id, month, user_id)
SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
ON CONFLICT (tenant_id, month, user_id) DO NOTHING`, string(tenant), month, userID)
		if err != nil {
			return wrapErr("mark active", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("mark active", err)
	})
	return n == 1, err
}

func (r usageRepo) IsActive(ctx context.Context, tenant store.TenantID, month, userID string) (bool, error) {
	var one int
	err := r.q.QueryRowContext(ctx, `SELECT 1 FROM usage_active_users WHERE tenant_id = $1 AND month = $2 AND user_id = $3`,
		string(tenant), month, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapErr("is active", err)
}

func (r usageRepo) CountActive(ctx context.Context, tenant store.TenantID, month string) (int64, error) {
	var n int64
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_active_users WHERE tenant_id = $1 AND month = $2`,
		string(tenant), month).Scan(&n)
	return n, wrapErr("count active", err)
}

func (r usageRepo) AddUsage(ctx context.Context, deltas []store.UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	return r.write(ctx, func(q querier) error {
		for _, d := range deltas {
			if _, err := q.ExecContext(ctx, `INSERT INTO usage_counters (tenant_id, month, metric, n)
SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
ON CONFLICT (tenant_id, month, metric) DO UPDATE SET n = usage_counters.n + excluded.n`,
				string(d.Tenant), d.Month, d.Metric, d.N); err != nil {
				return wrapErr("add usage", err)
			}
		}
		return nil
	})
}

func (r usageRepo) GetUsage(ctx context.Context, tenant store.TenantID, month string) (*store.TenantUsage, error) {
	u := &store.TenantUsage{Tenant: tenant, Month: month, Counters: map[string]int64{}}
	if err := r.q.QueryRowContext(ctx, `SELECT slug FROM tenants WHERE id = $1`, string(tenant)).Scan(&u.Slug); err != nil {
		return nil, wrapErr("get usage", err)
	}
	mau, err := r.CountActive(ctx, tenant, month)
	if err != nil {
		return nil, err
	}
	u.MAU = mau
	rows, err := r.q.QueryContext(ctx, `SELECT metric, n FROM usage_counters WHERE tenant_id = $1 AND month = $2`, string(tenant), month)
	if err != nil {
		return nil, wrapErr("get usage", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			return nil, wrapErr("get usage", err)
		}
		u.Counters[m] = n
	}
	return u, wrapErr("get usage", rows.Err())
}

// ListUsage reads three grouped scans (tenants, MAU per tenant, counters
// of the month) and joins them in memory: linear in the month's rows.
func (r usageRepo) ListUsage(ctx context.Context, month string) ([]store.TenantUsage, error) {
	var out []store.TenantUsage
	idx := map[store.TenantID]int{}
	err := r.each(ctx, `SELECT id, slug FROM tenants ORDER BY id`, nil, func(s scanner) error {
		var id, slug string
		if err := s.Scan(&id, &slug); err != nil {
			return err
		}
		idx[store.TenantID(id)] = len(out)
		out = append(out, store.TenantUsage{Tenant: store.TenantID(id), Slug: slug, Month: month, Counters: map[string]int64{}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = r.each(ctx, `SELECT tenant_id, COUNT(*) FROM usage_active_users WHERE month = $1 GROUP BY tenant_id`, []any{month}, func(s scanner) error {
		var id string
		var n int64
		if err := s.Scan(&id, &n); err != nil {
			return err
		}
		if i, ok := idx[store.TenantID(id)]; ok {
			out[i].MAU = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = r.each(ctx, `SELECT tenant_id, metric, n FROM usage_counters WHERE month = $1`, []any{month}, func(s scanner) error {
		var id, m string
		var n int64
		if err := s.Scan(&id, &m, &n); err != nil {
			return err
		}
		if i, ok := idx[store.TenantID(id)]; ok {
			out[i].Counters[m] = n
		}
		return nil
	})
	return out, err
}

func (r usageRepo) each(ctx context.Context, query string, args []any, fn func(scanner) error) error {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapErr("list usage", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return wrapErr("list usage", err)
		}
	}
	return wrapErr("list usage", rows.Err())
}

var ownedTables = map[string]string{
	store.OwnedClients:     "clients",
	store.OwnedConnections: "connections",
	store.OwnedSAMLSPs:     "saml_sps",
}

func (r usageRepo) CountOwned(ctx context.Context, tenant store.TenantID, kind string) (int64, error) {
	table, ok := ownedTables[kind]
	if !ok {
		return 0, fmt.Errorf("sqlstore: count owned: unknown kind %q", strings.ToValidUTF8(kind, ""))
	}
	var n int64
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = $1`, string(tenant)).Scan(&n)
	return n, wrapErr("count owned", err)
}

func (r usageRepo) MarkThreshold(ctx context.Context, tenant store.TenantID, month, limit string, percent int, at time.Time) (bool, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO usage_thresholds (tenant_id, month, limit_name, percent, at)
SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
ON CONFLICT (tenant_id, month, limit_name, percent) DO NOTHING`, string(tenant), month, limit, percent, at.UnixMicro())
		if err != nil {
			return wrapErr("mark threshold", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("mark threshold", err)
	})
	return n == 1, err
}
