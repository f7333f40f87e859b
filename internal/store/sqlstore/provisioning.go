package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type provisioningRepo struct{ *scope }

func (s *scope) Provisioning() store.Provisioning { return provisioningRepo{s} }

const targetCols = `id, tenant_id, name, base_url, token, mapping, scope_groups, enabled, sync_state, synced_at, sync_count,
created_at, updated_at`

func scanTarget(r scanner) (*store.ProvisioningTarget, error) {
	var (
		t                        store.ProvisioningTarget
		tenant, mapping, groups  string
		enabled, created, update int64
		synced                   sql.NullInt64
	)
	if err := r.Scan(&t.ID, &tenant, &t.Name, &t.BaseURL, &t.Token, &mapping, &groups, &enabled, &t.SyncState, &synced,
		&t.SyncCount, &created, &update); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(mapping), &t.Mapping); err != nil {
		return nil, err
	}
	if err := parseList(groups, &t.Groups); err != nil {
		return nil, err
	}
	t.Tenant, t.Enabled, t.SyncedAt = store.TenantID(tenant), enabled != 0, timePtr(synced)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(update)
	return &t, nil
}

// CreateTarget inserts t.
func (r provisioningRepo) CreateTarget(ctx context.Context, t *store.ProvisioningTarget) error {
	if t.ID == "" || t.Tenant == "" || t.BaseURL == "" || len(t.Token) == 0 {
		return errors.New("sqlstore: a provisioning target needs an id, a tenant, a base url and a token")
	}
	m := mappingJSON(t.Mapping)
	now := r.db.nowMicro()
	t.CreatedAt, t.UpdatedAt = now, now
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO provisioning_targets (`+targetCols+`) VALUES (`+placeholders(0, 13)+`)`,
			t.ID, string(t.Tenant), t.Name, t.BaseURL, t.Token, m, listJSON(t.Groups), boolInt(t.Enabled), t.SyncState,
			nullMicros(t.SyncedAt), t.SyncCount, now.UnixMicro(), now.UnixMicro())
		return wrapErr("create provisioning target", err)
	})
}

// GetTarget answers one target of the tenant.
func (r provisioningRepo) GetTarget(ctx context.Context, tenant store.TenantID, id string) (*store.ProvisioningTarget, error) {
	t, err := scanTarget(r.q.QueryRowContext(ctx, `SELECT `+targetCols+` FROM provisioning_targets
WHERE tenant_id = $1 AND id = $2`, string(tenant), id))
	return t, wrapErr("get provisioning target", err)
}

// ListTargets answers a page of the tenant's targets.
func (r provisioningRepo) ListTargets(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.ProvisioningTarget, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+targetCols+` FROM provisioning_targets WHERE tenant_id = $1 AND id > $2
ORDER BY id LIMIT $3`, string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list provisioning targets", err)
	}
	return collect(rows, "list provisioning targets", func(s interface{ Scan(...any) error }) (*store.ProvisioningTarget, error) {
		return scanTarget(s)
	})
}

// UpdateTarget rewrites a target through fn.
func (r provisioningRepo) UpdateTarget(ctx context.Context, tenant store.TenantID, id string, fn func(*store.ProvisioningTarget) error) (*store.ProvisioningTarget, error) {
	var out *store.ProvisioningTarget
	err := r.write(ctx, func(q querier) error {
		t, err := scanTarget(q.QueryRowContext(ctx, `SELECT `+targetCols+` FROM provisioning_targets
WHERE tenant_id = $1 AND id = $2`+r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("update provisioning target", err)
		}
		if err := fn(t); err != nil {
			return err
		}
		t.ID, t.Tenant, t.UpdatedAt = id, tenant, r.db.nowMicro()
		if len(t.Token) == 0 || t.BaseURL == "" {
			return errors.New("sqlstore: a provisioning target needs a base url and a token")
		}
		m := mappingJSON(t.Mapping)
		if _, err := q.ExecContext(ctx, `UPDATE provisioning_targets SET name = $1, base_url = $2, token = $3, mapping = $4,
scope_groups = $5, enabled = $6, sync_state = $7, synced_at = $8, sync_count = $9, updated_at = $10
WHERE tenant_id = $11 AND id = $12`,
			t.Name, t.BaseURL, t.Token, m, listJSON(t.Groups), boolInt(t.Enabled), t.SyncState, nullMicros(t.SyncedAt),
			t.SyncCount, t.UpdatedAt.UnixMicro(), string(tenant), id); err != nil {
			return wrapErr("update provisioning target", err)
		}
		out = t
		return nil
	})
	return out, err
}

// DeleteTarget removes a target; its links and errors go with it.
func (r provisioningRepo) DeleteTarget(ctx context.Context, tenant store.TenantID, id string) error {
	return r.write(ctx, func(q querier) error {
		for _, table := range []string{"provisioning_links", "provisioning_errors"} {
			if _, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1 AND target_id = $2`,
				string(tenant), id); err != nil {
				return wrapErr("delete provisioning target", err)
			}
		}
		res, err := q.ExecContext(ctx, `DELETE FROM provisioning_targets WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete provisioning target", err)
		}
		return oneRow(res, "delete provisioning target")
	})
}

// GetLink answers the remote id of one of our objects on a target.
func (r provisioningRepo) GetLink(ctx context.Context, tenant store.TenantID, targetID, kind, localID string) (*store.ProvisionLink, error) {
	l := store.ProvisionLink{Tenant: tenant, TargetID: targetID, Kind: kind, LocalID: localID}
	err := r.q.QueryRowContext(ctx, `SELECT remote_id FROM provisioning_links
WHERE tenant_id = $1 AND target_id = $2 AND kind = $3 AND local_id = $4`, string(tenant), targetID, kind, localID).Scan(&l.RemoteID)
	if err != nil {
		return nil, wrapErr("get provisioning link", err)
	}
	return &l, nil
}

// PutLink inserts or replaces a link.
func (r provisioningRepo) PutLink(ctx context.Context, l *store.ProvisionLink) error {
	if l.TargetID == "" || l.Kind == "" || l.LocalID == "" || l.RemoteID == "" {
		return errors.New("sqlstore: a provisioning link needs a target, a kind, a local and a remote id")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO provisioning_links (target_id, tenant_id, kind, local_id, remote_id)
SELECT id, tenant_id, $3, $4, $5 FROM provisioning_targets WHERE tenant_id = $1 AND id = $2
ON CONFLICT (target_id, kind, local_id) DO UPDATE SET remote_id = excluded.remote_id`,
			string(l.Tenant), l.TargetID, l.Kind, l.LocalID, l.RemoteID)
		return wrapErr("put provisioning link", err)
	})
}

// DeleteLink removes a link.
func (r provisioningRepo) DeleteLink(ctx context.Context, tenant store.TenantID, targetID, kind, localID string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM provisioning_links
WHERE tenant_id = $1 AND target_id = $2 AND kind = $3 AND local_id = $4`, string(tenant), targetID, kind, localID)
		return wrapErr("delete provisioning link", err)
	})
}

// AppendError records an error and keeps the target's newest
// MaxProvisionErrors.
func (r provisioningRepo) AppendError(ctx context.Context, e *store.ProvisionError) error {
	if e.ID == "" || e.TargetID == "" {
		return errors.New("sqlstore: a provisioning error needs an id and a target")
	}
	return r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO provisioning_errors (id, target_id, tenant_id, at, event_id, kind, local_id,
operation, status_code, message)
SELECT $1, id, tenant_id, $4, $5, $6, $7, $8, $9, $10 FROM provisioning_targets WHERE tenant_id = $3 AND id = $2`,
			e.ID, e.TargetID, string(e.Tenant), e.At.UnixMicro(), e.EventID, e.Kind, e.LocalID, e.Operation,
			int64(e.StatusCode), e.Message)
		if err != nil {
			return wrapErr("append provisioning error", err)
		}
		if err := oneRow(res, "append provisioning error"); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM provisioning_errors WHERE target_id = $1 AND id NOT IN
(SELECT id FROM provisioning_errors WHERE target_id = $1 ORDER BY id DESC LIMIT $2)`, e.TargetID, store.MaxProvisionErrors)
		return wrapErr("append provisioning error", err)
	})
}

// ListErrors answers the target's newest errors.
func (r provisioningRepo) ListErrors(ctx context.Context, tenant store.TenantID, targetID string, limit int) ([]store.ProvisionError, error) {
	if limit <= 0 || limit > store.MaxProvisionErrors {
		limit = store.MaxProvisionErrors
	}
	rows, err := r.q.QueryContext(ctx, `SELECT id, target_id, tenant_id, at, event_id, kind, local_id, operation, status_code,
message FROM provisioning_errors WHERE tenant_id = $1 AND target_id = $2 ORDER BY id DESC LIMIT $3`,
		string(tenant), targetID, limit)
	if err != nil {
		return nil, wrapErr("list provisioning errors", err)
	}
	return collect(rows, "list provisioning errors", func(s interface{ Scan(...any) error }) (*store.ProvisionError, error) {
		var (
			e      store.ProvisionError
			tenant string
			at     int64
			status int64
		)
		if err := s.Scan(&e.ID, &e.TargetID, &tenant, &at, &e.EventID, &e.Kind, &e.LocalID, &e.Operation, &status,
			&e.Message); err != nil {
			return nil, err
		}
		e.Tenant, e.At, e.StatusCode = store.TenantID(tenant), fromMicros(at), int(status)
		return &e, nil
	})
}
