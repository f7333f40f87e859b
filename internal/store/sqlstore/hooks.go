package sqlstore

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// hookRepo stores synchronous hooks, bound to the scope's pool or
// transaction.
type hookRepo struct{ *scope }

var _ store.Hooks = hookRepo{}

func (s *scope) Hooks() store.Hooks { return hookRepo{s} }

const hookCols = `tenant_id, id, trigger_name, url, timeout_ms, on_failure, allowed_claims, sealed_secret, version, created_at, updated_at`

func scanHook(r scanner) (*store.Hook, error) {
	var (
		h                store.Hook
		tenant, claims   string
		created, updated int64
	)
	err := r.Scan(&tenant, &h.ID, &h.Trigger, &h.URL, &h.TimeoutMS, &h.OnFailure, &claims, &h.SealedSecret,
		&h.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	h.Tenant = store.TenantID(tenant)
	if err := parseList(claims, &h.AllowedClaims); err != nil {
		return nil, err
	}
	h.CreatedAt, h.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &h, nil
}

func validHook(h *store.Hook) error {
	if h.ID == "" || h.Tenant == "" || h.Trigger == "" || len(h.SealedSecret) == 0 {
		return errors.New("sqlstore: hook needs an id, a tenant, a trigger and a sealed secret")
	}
	return nil
}

// CreateHook inserts h with Version 1.
func (r hookRepo) CreateHook(ctx context.Context, h *store.Hook) error {
	if err := validHook(h); err != nil {
		return err
	}
	n := *h
	n.AllowedClaims = normList(h.AllowedClaims)
	n.SealedSecret = append([]byte(nil), h.SealedSecret...)
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	n.UpdatedAt = n.CreatedAt
	ch := hookChange(n.Tenant, n.ID)
	err := r.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO hooks (`+hookCols+`) VALUES (`+placeholders(0, 11)+`)`,
			string(n.Tenant), n.ID, n.Trigger, n.URL, n.TimeoutMS, n.OnFailure, listJSON(n.AllowedClaims),
			n.SealedSecret, n.Version, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
		if err != nil {
			return wrapErr("create hook", err)
		}
		return r.notify(ctx, q, ch)
	})
	if err != nil {
		return err
	}
	r.committed(ch)
	*h = n
	return nil
}

// hookChange is the change a write of a tenant's hook makes (the hook cache, cache.go).
func hookChange(tenant store.TenantID, id string) store.Change {
	return store.Change{Kind: store.ChangeHook, Tenant: tenant, ID: id}
}

func (r hookRepo) get(ctx context.Context, q querier, where, lock string, args ...any) (*store.Hook, error) {
	h, err := scanHook(q.QueryRowContext(ctx, `SELECT `+hookCols+` FROM hooks WHERE `+where+lock, args...))
	return h, wrapErr("get hook", err)
}

func (r hookRepo) GetHook(ctx context.Context, tenant store.TenantID, id string) (*store.Hook, error) {
	return r.get(ctx, r.q, "tenant_id = $1 AND id = $2", "", string(tenant), id)
}

// HookFor answers from the node's cache outside transactions
// (cache.go), "none" included.
func (r hookRepo) HookFor(ctx context.Context, tenant store.TenantID, trigger string) (*store.Hook, error) {
	if r.tx != nil {
		return r.get(ctx, r.q, "tenant_id = $1 AND trigger_name = $2", "", string(tenant), trigger)
	}
	k := recordKey{tenant, trigger}
	h, ok, gen := r.db.hooks.get(k)
	if ok {
		if h == nil {
			return nil, store.ErrNotFound
		}
		return h, nil
	}
	h, err := r.get(ctx, r.q, "tenant_id = $1 AND trigger_name = $2", "", string(tenant), trigger)
	switch {
	case err == nil, errors.Is(err, store.ErrNotFound):
		r.db.hooks.put(k, h, gen)
	}
	return h, err
}

// ListHooks pages the tenant's hooks by id.
func (r hookRepo) ListHooks(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Hook, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+hookCols+` FROM hooks WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list hooks", err)
	}
	return collect(rows, "list hooks", scanHook)
}

func (r hookRepo) UpdateHook(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Hook) error) (*store.Hook, error) {
	const op = "update hook"
	var out *store.Hook
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, "tenant_id = $1 AND id = $2", r.forUpdate(), string(tenant), id)
		if err != nil {
			return err
		}
		n := *old
		n.AllowedClaims = normList(old.AllowedClaims)
		n.SealedSecret = append([]byte(nil), old.SealedSecret...)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant || n.Trigger != old.Trigger {
			return errors.New("sqlstore: update hook: the closure changed the id, tenant or trigger")
		}
		if err := validHook(&n); err != nil {
			return err
		}
		n.AllowedClaims = normList(n.AllowedClaims)
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE hooks SET url = $1, timeout_ms = $2, on_failure = $3, allowed_claims = $4,
sealed_secret = $5, version = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9 AND version = $10`,
			n.URL, n.TimeoutMS, n.OnFailure, listJSON(n.AllowedClaims), n.SealedSecret, n.Version,
			n.UpdatedAt.UnixMicro(), string(n.Tenant), n.ID, old.Version)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
			return err
		}
		out = &n
		return r.notify(ctx, q, hookChange(tenant, id))
	})
	if err != nil {
		return nil, err
	}
	r.committed(hookChange(tenant, id))
	return out, nil
}

func (r hookRepo) DeleteHook(ctx context.Context, tenant store.TenantID, id string) error {
	ch := hookChange(tenant, id)
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM hooks WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete hook", err)
		}
		if err := oneRow(res, "delete hook"); err != nil {
			return err
		}
		return r.notify(ctx, q, ch)
	})
	if err == nil {
		r.committed(ch)
	}
	return err
}
