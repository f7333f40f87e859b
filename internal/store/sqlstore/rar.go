package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type rarRepo struct{ *scope }

const detailTypeCols = `tenant_id, type, description, schema, created_at, updated_at`

func scanDetailType(r scanner) (*store.AuthorizationDetailType, error) {
	var (
		t                store.AuthorizationDetailType
		tenant, schema   string
		created, updated int64
	)
	if err := r.Scan(&tenant, &t.Type, &t.Description, &schema, &created, &updated); err != nil {
		return nil, err
	}
	t.Tenant, t.Schema = store.TenantID(tenant), json.RawMessage(schema)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &t, nil
}

// PutDetailType upserts t in one statement; a replaced type keeps its
// CreatedAt, UpdatedAt is now.
func (r rarRepo) PutDetailType(ctx context.Context, t *store.AuthorizationDetailType) error {
	if t.Tenant == "" || t.Type == "" || !json.Valid(t.Schema) {
		return errors.New("sqlstore: an authorization details type needs a tenant, a name and a JSON schema")
	}
	n := *t
	now := r.db.nowMicro()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.CreatedAt, n.UpdatedAt = micro(n.CreatedAt), now
	n.Schema = json.RawMessage(cloneBytes(n.Schema))
	err := r.single(ctx, func(q querier) error {
		out, err := scanDetailType(q.QueryRowContext(ctx, `INSERT INTO authorization_detail_types (`+detailTypeCols+`)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, type) DO UPDATE SET description = excluded.description,
schema = excluded.schema, updated_at = excluded.updated_at RETURNING `+detailTypeCols,
			string(n.Tenant), n.Type, n.Description, string(n.Schema), n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro()))
		if err != nil {
			return wrapErr("put authorization details type", err)
		}
		n = *out
		return nil
	})
	if err != nil {
		return err
	}
	*t = n
	return nil
}

func (r rarRepo) GetDetailType(ctx context.Context, tenant store.TenantID, typ string) (*store.AuthorizationDetailType, error) {
	t, err := scanDetailType(r.q.QueryRowContext(ctx, `SELECT `+detailTypeCols+` FROM authorization_detail_types
WHERE tenant_id = $1 AND type = $2`, string(tenant), typ))
	return t, wrapErr("get authorization details type", err)
}

func (r rarRepo) ListDetailTypes(ctx context.Context, tenant store.TenantID) ([]store.AuthorizationDetailType, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+detailTypeCols+` FROM authorization_detail_types
WHERE tenant_id = $1 ORDER BY type LIMIT 1000`, string(tenant))
	if err != nil {
		return nil, wrapErr("list authorization details types", err)
	}
	return collect(rows, "list authorization details types", scanDetailType)
}

func (r rarRepo) DeleteDetailType(ctx context.Context, tenant store.TenantID, typ string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM authorization_detail_types WHERE tenant_id = $1 AND type = $2`, string(tenant), typ)
		if err != nil {
			return wrapErr("delete authorization details type", err)
		}
		return affectedOne(res, "delete authorization details type")
	})
}

// PutDetails upserts d in one statement.
func (r rarRepo) PutDetails(ctx context.Context, d *store.RequestDetails) error {
	if d.Tenant == "" || d.Owner == "" || !json.Valid(d.Details) || d.ExpiresAt.IsZero() {
		return errors.New("sqlstore: request details need a tenant, an owner, JSON details and an expiry")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO authorization_details (tenant_id, owner_id, details, approved, expires_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, owner_id) DO UPDATE SET details = excluded.details,
approved = excluded.approved, expires_at = excluded.expires_at`,
			string(d.Tenant), d.Owner, string(d.Details), d.Approved, d.ExpiresAt.UnixMicro())
		return wrapErr("put request details", err)
	})
}

func (r rarRepo) GetDetails(ctx context.Context, tenant store.TenantID, owner string) (*store.RequestDetails, error) {
	var (
		d       = store.RequestDetails{Tenant: tenant, Owner: owner}
		details string
		expires int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT details, approved, expires_at FROM authorization_details
WHERE tenant_id = $1 AND owner_id = $2 AND expires_at > $3`, string(tenant), owner, r.db.nowMicro().UnixMicro()).
		Scan(&details, &d.Approved, &expires)
	if err != nil {
		return nil, wrapErr("get request details", err)
	}
	d.Details, d.ExpiresAt = json.RawMessage(details), fromMicros(expires)
	return &d, nil
}

func (r rarRepo) ApproveDetails(ctx context.Context, tenant store.TenantID, owner string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE authorization_details SET approved = $1
WHERE tenant_id = $2 AND owner_id = $3 AND expires_at > $4`, true, string(tenant), owner, r.db.nowMicro().UnixMicro())
		if err != nil {
			return wrapErr("approve request details", err)
		}
		return affectedOne(res, "approve request details")
	})
}

// affectedOne answers store.ErrNotFound when a write changed no row.
func affectedOne(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
