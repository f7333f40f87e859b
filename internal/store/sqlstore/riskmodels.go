package sqlstore

import (
	"context"
	"errors"

	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type riskModelRepo struct{ *scope }

var _ store.RiskModels = riskModelRepo{}

func (s *scope) RiskModels() store.RiskModels { return riskModelRepo{s} }

const riskObsCols = `tenant_id, id, user_id, at, data, score, decision, outcome`

func (r riskModelRepo) AddObservation(ctx context.Context, o *store.RiskObservation) error {
	switch {
	case o.Tenant == "" || o.ID == "" || o.UserID == "" || o.At.IsZero():
		return errors.New("sqlstore: risk observation needs a tenant, an id, a user and a time")
	case o.Score < 0 || o.Score > 100 || len(o.ID) > 64 || len(o.Data) > 8192 || len(o.Decision) > 32 || len(o.Outcome) > 32:
		return errors.New("sqlstore: risk observation field too long")
	}
	o.At = micro(o.At)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO risk_observations (`+riskObsCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			string(o.Tenant), o.ID, o.UserID, o.At.UnixMicro(), o.Data, o.Score, o.Decision, o.Outcome)
		return wrapErr("add risk observation", err)
	})
}

func (r riskModelRepo) SetNewestOutcome(ctx context.Context, tenant store.TenantID, userID string, since time.Time, outcome string) (bool, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE risk_observations SET outcome = $1 WHERE tenant_id = $2 AND id = (
    SELECT id FROM risk_observations WHERE tenant_id = $2 AND user_id = $3 AND outcome = '' AND at >= $4
    ORDER BY at DESC, id DESC LIMIT 1)`, outcome, string(tenant), userID, micro(since).UnixMicro())
		if err != nil {
			return wrapErr("set risk outcome", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("set risk outcome", err)
	})
	return n > 0, err
}

func (r riskModelRepo) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return wrapErr(op, err)
		}
		n, err = res.RowsAffected()
		return wrapErr(op, err)
	})
	return n, err
}

func (r riskModelRepo) Relabel(ctx context.Context, tenant store.TenantID, userID, from, to string, since time.Time, minScore int) (int64, error) {
	return r.exec(ctx, "relabel risk observations", `UPDATE risk_observations SET outcome = $1
WHERE tenant_id = $2 AND user_id = $3 AND outcome = $4 AND at >= $5 AND score >= $6`, to, string(tenant), userID, from,
		micro(since).UnixMicro(), minScore)
}

func (r riskModelRepo) Settle(ctx context.Context, tenant store.TenantID, before time.Time, decision, outcome string) (int64, error) {
	return r.exec(ctx, "settle risk observations", `UPDATE risk_observations SET outcome = $1
WHERE tenant_id = $2 AND outcome = '' AND decision = $3 AND at < $4`, outcome, string(tenant), decision, micro(before).UnixMicro())
}

func (r riskModelRepo) list(ctx context.Context, op, query string, args ...any) ([]store.RiskObservation, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	defer rows.Close()
	var out []store.RiskObservation
	for rows.Next() {
		var (
			o  store.RiskObservation
			t  string
			at int64
		)
		if err := rows.Scan(&t, &o.ID, &o.UserID, &at, &o.Data, &o.Score, &o.Decision, &o.Outcome); err != nil {
			return nil, wrapErr(op, err)
		}
		o.Tenant, o.At = store.TenantID(t), fromMicros(at)
		out = append(out, o)
	}
	return out, wrapErr(op, rows.Err())
}

func (r riskModelRepo) ListLabelled(ctx context.Context, tenant store.TenantID, limit int) ([]store.RiskObservation, error) {
	if limit < 1 || limit > store.MaxRiskObservations {
		limit = store.MaxRiskObservations
	}
	return r.list(ctx, "list risk observations", `SELECT `+riskObsCols+` FROM risk_observations
WHERE tenant_id = $1 AND outcome <> '' ORDER BY at DESC, id DESC LIMIT $2`, string(tenant), limit)
}

func (r riskModelRepo) ListUserObservations(ctx context.Context, tenant store.TenantID, userID string) ([]store.RiskObservation, error) {
	return r.list(ctx, "list user risk observations", `SELECT `+riskObsCols+` FROM risk_observations
WHERE tenant_id = $1 AND user_id = $2 ORDER BY at DESC, id DESC LIMIT $3`, string(tenant), userID, store.MaxRiskObservations)
}

func (r riskModelRepo) DeleteUserObservations(ctx context.Context, tenant store.TenantID, userID string) error {
	_, err := r.exec(ctx, "delete risk observations", `DELETE FROM risk_observations WHERE tenant_id = $1 AND user_id = $2`,
		string(tenant), userID)
	return err
}

func (r riskModelRepo) Prune(ctx context.Context, tenant store.TenantID, before time.Time) (int64, error) {
	n, err := r.exec(ctx, "prune risk observations", `DELETE FROM risk_observations WHERE tenant_id = $1 AND at < $2`,
		string(tenant), micro(before).UnixMicro())
	if err != nil {
		return n, err
	}
	m, err := r.exec(ctx, "prune risk observations", `DELETE FROM risk_observations WHERE tenant_id = $1 AND id NOT IN (
    SELECT id FROM risk_observations WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2)`, string(tenant), store.MaxRiskObservations)
	return n + m, err
}

func (r riskModelRepo) TrainingDue(ctx context.Context, before time.Time, minLabelled, limit int) ([]store.TenantID, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT o.tenant_id FROM risk_observations o
WHERE o.outcome <> '' AND NOT EXISTS (SELECT 1 FROM risk_models m WHERE m.tenant_id = o.tenant_id AND m.created_at >= $1)
GROUP BY o.tenant_id HAVING COUNT(*) >= $2 ORDER BY COUNT(*) DESC, o.tenant_id LIMIT $3`,
		micro(before).UnixMicro(), minLabelled, limit)
	if err != nil {
		return nil, wrapErr("risk training due", err)
	}
	defer rows.Close()
	var out []store.TenantID
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, wrapErr("risk training due", err)
		}
		out = append(out, store.TenantID(t))
	}
	return out, wrapErr("risk training due", rows.Err())
}

func (r riskModelRepo) PutModel(ctx context.Context, m *store.RiskModel) error {
	if m.Tenant == "" || m.Doc == "" || len(m.Doc) > 1<<20 {
		return errors.New("sqlstore: risk model needs a tenant and a document of at most 1 MiB")
	}
	m.CreatedAt = micro(m.CreatedAt)
	return r.write(ctx, func(q querier) error {
		var v int64
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM risk_models WHERE tenant_id = $1`,
			string(m.Tenant)).Scan(&v); err != nil {
			return wrapErr("put risk model", err)
		}
		m.Version = int(v) + 1
		if _, err := q.ExecContext(ctx, `INSERT INTO risk_models (tenant_id, version, created_at, doc) VALUES ($1, $2, $3, $4)`,
			string(m.Tenant), m.Version, m.CreatedAt.UnixMicro(), m.Doc); err != nil {
			return wrapErr("put risk model", err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM risk_models WHERE tenant_id = $1 AND version <= $2`,
			string(m.Tenant), m.Version-store.MaxRiskModelVersions)
		return wrapErr("trim risk models", err)
	})
}

func (r riskModelRepo) LatestModel(ctx context.Context, tenant store.TenantID) (*store.RiskModel, error) {
	m := &store.RiskModel{Tenant: tenant}
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT version, created_at, doc FROM risk_models WHERE tenant_id = $1
ORDER BY version DESC LIMIT 1`, string(tenant)).Scan(&m.Version, &at, &m.Doc)
	if err != nil {
		return nil, wrapErr("latest risk model", err)
	}
	m.CreatedAt = fromMicros(at)
	return m, nil
}
