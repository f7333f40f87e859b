package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type signingKeyRepo struct{ *scope }

const signingKeyCols = `tenant_id, id, alg, status, public_key, sealed, version, created_at, retire_at`

func scanSigningKey(r interface{ Scan(...any) error }) (*store.SigningKey, error) {
	var (
		k              store.SigningKey
		tenant, status string
		created        int64
		retire         sql.NullInt64
	)
	if err := r.Scan(&tenant, &k.ID, &k.Alg, &status, &k.PublicKey, &k.Sealed, &k.Version, &created, &retire); err != nil {
		return nil, err
	}
	k.Tenant, k.Status = store.TenantID(tenant), store.KeyStatus(status)
	k.CreatedAt, k.RetireAt = fromMicros(created), timePtr(retire)
	return &k, nil
}

func validSigningKey(k *store.SigningKey) error {
	if k.ID == "" || k.Tenant == "" || k.Alg == "" {
		return errors.New("sqlstore: signing key needs an id, a tenant and an alg")
	}
	switch k.Status {
	case store.KeyNext, store.KeyActive, store.KeyRetired:
		return nil
	}
	return fmt.Errorf("sqlstore: unknown signing key status %q", k.Status)
}

// CreateSigningKey inserts k with Version 1; ErrConflict when the id is
// taken in the tenant, ErrNotFound when the tenant does not exist.
func (r signingKeyRepo) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	if err := validSigningKey(k); err != nil {
		return err
	}
	n := *k
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt, n.RetireAt = micro(n.CreatedAt), microPtr(n.RetireAt)
	err := r.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			string(n.Tenant), n.ID, n.Alg, string(n.Status), nonNil(n.PublicKey), nonNil(n.Sealed), n.Version,
			n.CreatedAt.UnixMicro(), nullMicros(n.RetireAt))
		if err != nil {
			return wrapErr("create signing key", err)
		}
		return r.notify(ctx, q, store.Change{Kind: store.ChangeKeys, Tenant: n.Tenant})
	})
	if err != nil {
		return err
	}
	r.committed(store.Change{Kind: store.ChangeKeys, Tenant: n.Tenant})
	*k = n
	return nil
}

// nonNil keeps an empty key part from binding as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ListSigningKeys answers the tenant's keys oldest first (kids need not be
// time-ordered; rotation reads them in creation order).
func (r signingKeyRepo) ListSigningKeys(ctx context.Context, tenant store.TenantID) ([]store.SigningKey, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, id`, string(tenant))
	if err != nil {
		return nil, wrapErr("list signing keys", err)
	}
	return collect(rows, "list signing keys", scanSigningKey)
}

func (r signingKeyRepo) UpdateSigningKey(ctx context.Context, tenant store.TenantID, id string, fn func(*store.SigningKey) error) (*store.SigningKey, error) {
	var out *store.SigningKey
	err := r.write(ctx, func(q querier) error {
		old, err := scanSigningKey(q.QueryRowContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE tenant_id = $1 AND id = $2`+r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("update signing key", err)
		}
		n := *old
		n.PublicKey, n.Sealed, n.RetireAt = cloneBytes(old.PublicKey), cloneBytes(old.Sealed), microPtr(old.RetireAt)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update signing key: the closure changed the id or tenant")
		}
		if err := validSigningKey(&n); err != nil {
			return err
		}
		n.Version, n.CreatedAt, n.RetireAt = old.Version+1, old.CreatedAt, microPtr(n.RetireAt)
		res, err := q.ExecContext(ctx, `UPDATE signing_keys SET alg = $1, status = $2, public_key = $3, sealed = $4, version = $5,
retire_at = $6 WHERE tenant_id = $7 AND id = $8 AND version = $9`,
			n.Alg, string(n.Status), nonNil(n.PublicKey), nonNil(n.Sealed), n.Version, nullMicros(n.RetireAt),
			string(n.Tenant), n.ID, old.Version)
		if err != nil {
			return wrapErr("update signing key", err)
		}
		if err := guardRow(res, "update signing key"); err != nil {
			return err
		}
		out = &n
		return r.notify(ctx, q, store.Change{Kind: store.ChangeKeys, Tenant: tenant})
	})
	if err != nil {
		return nil, err
	}
	r.committed(store.Change{Kind: store.ChangeKeys, Tenant: tenant})
	return out, nil
}
