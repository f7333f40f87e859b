package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type elevationRepo struct{ *scope }

const elevationCols = `tenant_id, id, role_id, user_id, reason, duration, status, requested_at, decided_by, decided_at,
expires_at, revoked_by, revoked_at`

func scanElevation(r scanner) (*store.Elevation, error) {
	var (
		e                         store.Elevation
		tenant                    string
		dur, requested            int64
		decided, expires, revoked sql.NullInt64
	)
	if err := r.Scan(&tenant, &e.ID, &e.RoleID, &e.UserID, &e.Reason, &dur, &e.Status, &requested, &e.DecidedBy,
		&decided, &expires, &e.RevokedBy, &revoked); err != nil {
		return nil, err
	}
	e.Tenant, e.Duration, e.RequestedAt = store.TenantID(tenant), fromDurMicros(dur), fromMicros(requested)
	e.DecidedAt, e.ExpiresAt, e.RevokedAt = timeOrZero(decided), timeOrZero(expires), timeOrZero(revoked)
	return &e, nil
}

func normElevation(e *store.Elevation) {
	e.Duration = microDur(e.Duration)
	e.RequestedAt = micro(e.RequestedAt)
	e.DecidedAt, e.ExpiresAt, e.RevokedAt = microOrZero(e.DecidedAt), microOrZero(e.ExpiresAt), microOrZero(e.RevokedAt)
}

func validElevation(e *store.Elevation) error {
	switch {
	case e.ID == "" || e.Tenant == "" || e.RoleID == "" || e.UserID == "":
		return errors.New("sqlstore: an elevation needs an id, a tenant, a role and a user")
	case e.Status == "":
		return errors.New("sqlstore: an elevation needs a status")
	}
	return nil
}

// CreateElevation inserts e; ErrNotFound when the role or user is missing.
func (r elevationRepo) CreateElevation(ctx context.Context, e *store.Elevation) error {
	if err := validElevation(e); err != nil {
		return err
	}
	n := *e
	if n.RequestedAt.IsZero() {
		n.RequestedAt = r.db.now()
	}
	normElevation(&n)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO elevations (`+elevationCols+`) VALUES (`+placeholders(0, 13)+`)`,
			string(n.Tenant), n.ID, n.RoleID, n.UserID, n.Reason, durMicros(n.Duration), n.Status,
			n.RequestedAt.UnixMicro(), n.DecidedBy, nullTime(n.DecidedAt), nullTime(n.ExpiresAt), n.RevokedBy,
			nullTime(n.RevokedAt))
		return wrapErr("create elevation", err)
	})
	if err != nil {
		return err
	}
	*e = n
	return nil
}

func (r elevationRepo) get(ctx context.Context, q querier, lock string, tenant store.TenantID, id string) (*store.Elevation, error) {
	e, err := scanElevation(q.QueryRowContext(ctx, `SELECT `+elevationCols+` FROM elevations WHERE tenant_id = $1 AND id = $2`+lock,
		string(tenant), id))
	return e, wrapErr("get elevation", err)
}

func (r elevationRepo) GetElevation(ctx context.Context, tenant store.TenantID, id string) (*store.Elevation, error) {
	return r.get(ctx, r.q, "", tenant, id)
}

func (r elevationRepo) UpdateElevation(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Elevation) error) (*store.Elevation, error) {
	var out *store.Elevation
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant || n.RoleID != old.RoleID || n.UserID != old.UserID {
			return errors.New("sqlstore: update elevation: the closure changed the id, tenant, role or user")
		}
		if err := validElevation(&n); err != nil {
			return err
		}
		n.RequestedAt = old.RequestedAt
		normElevation(&n)
		_, err = q.ExecContext(ctx, `UPDATE elevations SET reason = $1, duration = $2, status = $3, decided_by = $4,
decided_at = $5, expires_at = $6, revoked_by = $7, revoked_at = $8 WHERE tenant_id = $9 AND id = $10`,
			n.Reason, durMicros(n.Duration), n.Status, n.DecidedBy, nullTime(n.DecidedAt), nullTime(n.ExpiresAt),
			n.RevokedBy, nullTime(n.RevokedAt), string(n.Tenant), n.ID)
		if err != nil {
			return wrapErr("update elevation", err)
		}
		out = &n
		return nil
	})
	return out, err
}

func (r elevationRepo) ListElevations(ctx context.Context, tenant store.TenantID, q store.ElevationQuery) ([]store.Elevation, error) {
	var b builder
	b.add(`SELECT `+elevationCols+` FROM elevations WHERE tenant_id = `, b.arg(string(tenant)), ` AND id > `, b.arg(q.After))
	if q.UserID != "" {
		b.add(` AND user_id = `, b.arg(q.UserID))
	}
	if q.RoleID != "" {
		b.add(` AND role_id = `, b.arg(q.RoleID))
	}
	if q.Status != "" {
		b.add(` AND status = `, b.arg(q.Status))
	}
	b.add(` ORDER BY id LIMIT `, b.arg(q.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("list elevations", err)
	}
	return collect(rows, "list elevations", scanElevation)
}

func (r elevationRepo) RevokeUserRoleElevations(ctx context.Context, tenant store.TenantID, userID, roleID, by string, now time.Time) (int, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE elevations SET status = 'revoked', revoked_by = $1, revoked_at = $2
WHERE tenant_id = $3 AND user_id = $4 AND role_id = $5 AND status IN ('approved', 'pending')
AND (expires_at IS NULL OR expires_at > $2)`, by, now.UnixMicro(), string(tenant), userID, roleID)
		if err != nil {
			return wrapErr("revoke elevations", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("revoke elevations", err)
	})
	return int(n), err
}

type breakGlassRepo struct{ *scope }

func (r breakGlassRepo) AddBreakGlass(ctx context.Context, b *store.BreakGlassAccount) error {
	if b.Tenant == "" || b.UserID == "" {
		return errors.New("sqlstore: a break-glass mark needs a tenant and a user")
	}
	n := *b
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO break_glass (tenant_id, user_id, note, created_at) VALUES ($1, $2, $3, $4)`,
			string(n.Tenant), n.UserID, n.Note, n.CreatedAt.UnixMicro())
		return wrapErr("add break-glass account", err)
	})
	if err != nil {
		return err
	}
	*b = n
	return nil
}

func (r breakGlassRepo) RemoveBreakGlass(ctx context.Context, tenant store.TenantID, userID string) error {
	res, err := r.q.ExecContext(ctx, `DELETE FROM break_glass WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
	if err != nil {
		return wrapErr("remove break-glass account", err)
	}
	return oneRow(res, "remove break-glass account")
}

func (r breakGlassRepo) IsBreakGlass(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	var yes bool
	err := r.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM break_glass WHERE tenant_id = $1 AND user_id = $2)`,
		string(tenant), userID).Scan(&yes)
	return yes, wrapErr("is break-glass account", err)
}

func (r breakGlassRepo) ListBreakGlass(ctx context.Context, tenant store.TenantID) ([]store.BreakGlassAccount, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT tenant_id, user_id, note, created_at FROM break_glass WHERE tenant_id = $1
ORDER BY user_id`, string(tenant))
	if err != nil {
		return nil, wrapErr("list break-glass accounts", err)
	}
	return collect(rows, "list break-glass accounts", func(s interface{ Scan(...any) error }) (*store.BreakGlassAccount, error) {
		var (
			b       store.BreakGlassAccount
			tenant  string
			created int64
		)
		if err := s.Scan(&tenant, &b.UserID, &b.Note, &created); err != nil {
			return nil, err
		}
		b.Tenant, b.CreatedAt = store.TenantID(tenant), fromMicros(created)
		return &b, nil
	})
}
