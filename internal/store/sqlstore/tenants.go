package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tenantRepo struct{ *scope }

const tenantCols = `id, slug, name, settings, status, purge_at, version, created_at, updated_at`

func scanTenant(r interface{ Scan(...any) error }) (*store.Tenant, error) {
	var (
		t                store.Tenant
		id, settings     string
		status           string
		purge            sql.NullInt64
		created, updated int64
	)
	if err := r.Scan(&id, &t.Slug, &t.Name, &settings, &status, &purge, &t.Version, &created, &updated); err != nil {
		return nil, err
	}
	t.ID = store.TenantID(id)
	t.Status = store.TenantStatus(status)
	t.PurgeAt = timePtr(purge)
	t.Settings = json.RawMessage(settings)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &t, nil
}

func validTenant(t *store.Tenant) error {
	switch {
	case t.ID == "" || t.Slug == "":
		return errors.New("sqlstore: tenant needs an id and a slug")
	case t.ID == store.PlatformTenant:
		return fmt.Errorf("sqlstore: tenant id %q is reserved", t.ID)
	case len(t.Settings) > 0 && !json.Valid(t.Settings):
		return errors.New("sqlstore: tenant settings are not valid JSON")
	case t.Status != "" && !t.Status.Valid():
		return fmt.Errorf("sqlstore: tenant status %q is unknown", t.Status)
	case (t.Status == store.TenantDeleted) != (t.PurgeAt != nil):
		return errors.New("sqlstore: a tenant has a purge time exactly when it is deleted")
	}
	return nil
}

// CreateTenant inserts t, filling Version (1) and the times when unset.
func (r tenantRepo) CreateTenant(ctx context.Context, t *store.Tenant) error {
	if err := validTenant(t); err != nil {
		return err
	}
	n := *t
	n.Settings = json.RawMessage(jsonOr(t.Settings, "{}"))
	if n.Status == "" {
		n.Status = store.TenantActive
	}
	n.PurgeAt = microPtr(n.PurgeAt)
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	// A new tenant's audit chain is sealed from its first entry, so it is
	// marked converted with its creation (privacy_audit_sealed): the
	// start-up conversion never has to look at it.
	err := r.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			string(n.ID), n.Slug, n.Name, string(n.Settings), string(n.Status), nullMicros(n.PurgeAt), n.Version, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
		if err != nil {
			return wrapErr("create tenant", err)
		}
		return markAuditSealed(ctx, q, n.ID, n.CreatedAt)
	})
	if err != nil {
		return err
	}
	*t = n
	return nil
}

func (r tenantRepo) GetTenant(ctx context.Context, id store.TenantID) (*store.Tenant, error) {
	t, err := scanTenant(r.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, string(id)))
	return t, wrapErr("get tenant", err)
}

func (r tenantRepo) GetTenantBySlug(ctx context.Context, slug string) (*store.Tenant, error) {
	t, err := scanTenant(r.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE slug = $1`, slug))
	return t, wrapErr("get tenant by slug", err)
}

func (r tenantRepo) ListTenants(ctx context.Context, p store.Page) ([]store.Tenant, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id > $1 AND status <> 'deleted' ORDER BY id LIMIT $2`,
		p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list tenants", err)
	}
	return collect(rows, "list tenants", scanTenant)
}

func (r tenantRepo) ListPurgeDue(ctx context.Context, now time.Time, limit int) ([]store.Tenant, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE purge_at <= $1 AND status = 'deleted'
ORDER BY purge_at, id LIMIT $2`, now.UnixMicro(), store.Page{Limit: limit}.ClampLimit())
	if err != nil {
		return nil, wrapErr("list tenants to purge", err)
	}
	return collect(rows, "list tenants to purge", scanTenant)
}

func (r tenantRepo) UpdateTenant(ctx context.Context, id store.TenantID, fn func(*store.Tenant) error) (*store.Tenant, error) {
	var out *store.Tenant
	err := r.write(ctx, func(q querier) error {
		old, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`+r.forUpdate(), string(id)))
		if err != nil {
			return wrapErr("update tenant", err)
		}
		n := *old
		n.Settings = cloneBytes(old.Settings)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID {
			return errors.New("sqlstore: update tenant: the closure changed the id")
		}
		if err := validTenant(&n); err != nil {
			return err
		}
		n.Settings = json.RawMessage(jsonOr(n.Settings, "{}"))
		if n.Status == "" {
			n.Status = store.TenantActive
		}
		n.PurgeAt = microPtr(n.PurgeAt)
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		// version = old keeps the write honest even if a lock was missed.
		res, err := q.ExecContext(ctx, `UPDATE tenants SET slug = $1, name = $2, settings = $3, status = $4, purge_at = $5, version = $6, updated_at = $7
WHERE id = $8 AND version = $9`,
			n.Slug, n.Name, string(n.Settings), string(n.Status), nullMicros(n.PurgeAt), n.Version, n.UpdatedAt.UnixMicro(), string(n.ID), old.Version)
		if err != nil {
			return wrapErr("update tenant", err)
		}
		if err := guardRow(res, "update tenant"); err != nil {
			return err
		}
		out = &n
		return r.notify(ctx, q, store.Change{Kind: store.ChangeTenant, Tenant: id})
	})
	if err != nil {
		return nil, err
	}
	r.committed(store.Change{Kind: store.ChangeTenant, Tenant: id})
	return out, nil
}

// DeleteTenant removes the tenant; the foreign keys cascade to its users,
// groups, memberships and signing keys, and to the OpenID provider's
// clients, authorization requests, tokens, sessions, consents and device
// codes. API keys and throttle counters have no foreign key (the
// platform's are no tenant's) and go explicitly. Audit entries and the
// chain head stay: the log outlives its tenant.
func (r tenantRepo) DeleteTenant(ctx context.Context, id store.TenantID) error {
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1`, string(id))
		if err != nil {
			return wrapErr("delete tenant", err)
		}
		if err := oneRow(res, "delete tenant"); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM api_keys WHERE tenant_id = $1`, string(id)); err != nil {
			return wrapErr("delete tenant api keys", err)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM throttle WHERE tenant_id = $1`, string(id)); err != nil {
			return wrapErr("delete tenant throttle", err)
		}
		// The audit conversion mark has no foreign key either; left, it
		// would refuse a later import of a tenant with this id.
		if _, err := q.ExecContext(ctx, `DELETE FROM privacy_audit_sealed WHERE tenant_id = $1`, string(id)); err != nil {
			return wrapErr("delete tenant audit mark", err)
		}
		return r.notify(ctx, q, store.Change{Kind: store.ChangeTenant, Tenant: id})
	})
	if err == nil {
		r.committed(store.Change{Kind: store.ChangeTenant, Tenant: id})
	}
	return err
}
