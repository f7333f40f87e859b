package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type apiKeyRepo struct{ *scope }

const apiKeyCols = `id, tenant_id, name, scopes, hash, hint, created_at, expires_at, revoked_at, last_used_at`

// Scopes are stored as a JSON array: exact round trip, no separator rules.

func scanAPIKey(r interface{ Scan(...any) error }) (*store.APIKey, error) {
	var (
		k                          store.APIKey
		tenant, scopes             string
		created                    int64
		expires, revoked, lastUsed sql.NullInt64
	)
	if err := r.Scan(&k.ID, &tenant, &k.Name, &scopes, &k.Hash, &k.Hint, &created, &expires, &revoked, &lastUsed); err != nil {
		return nil, err
	}
	k.Tenant = store.TenantID(tenant)
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, err
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = timePtr(expires), timePtr(revoked), timePtr(lastUsed)
	return &k, nil
}

func scopesJSON(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s) // []string always marshals
	return string(b)
}

func validAPIKey(k *store.APIKey) error {
	if k.ID == "" || k.Tenant == "" || len(k.Hash) == 0 {
		return errors.New("sqlstore: api key needs an id, a tenant and a hash")
	}
	return nil
}

// CreateAPIKey inserts k. ErrConflict when the id or hash exists,
// ErrNotFound when k.Tenant is neither PlatformTenant nor a tenant.
func (r apiKeyRepo) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	if err := validAPIKey(k); err != nil {
		return err
	}
	n := *k
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	n.ExpiresAt, n.RevokedAt, n.LastUsedAt = microPtr(n.ExpiresAt), microPtr(n.RevokedAt), microPtr(n.LastUsedAt)
	err := r.write(ctx, func(q querier) error {
		// api_keys has no foreign key (platform keys belong to no tenant
		// row), so check by hand. FOR SHARE makes a concurrent
		// DeleteTenant wait for this insert, and then delete the new key
		// too, instead of leaving it orphaned.
		if n.Tenant != store.PlatformTenant {
			var one int
			err := q.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = $1`+r.db.d.forShare, string(n.Tenant)).Scan(&one)
			if err != nil {
				return wrapErr("create api key: tenant", err)
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			n.ID, string(n.Tenant), n.Name, scopesJSON(n.Scopes), n.Hash, n.Hint, n.CreatedAt.UnixMicro(),
			nullMicros(n.ExpiresAt), nullMicros(n.RevokedAt), nullMicros(n.LastUsedAt))
		return wrapErr("create api key", err)
	})
	if err != nil {
		return err
	}
	*k = n
	return nil
}

func (r apiKeyRepo) GetAPIKeyByHash(ctx context.Context, hash []byte) (*store.APIKey, error) {
	k, err := scanAPIKey(r.q.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash))
	return k, wrapErr("get api key", err)
}

// ListAPIKeys answers the tenant's keys (PlatformTenant: the platform's) by id.
func (r apiKeyRepo) ListAPIKeys(ctx context.Context, tenant store.TenantID) ([]store.APIKey, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = $1 ORDER BY id`, string(tenant))
	if err != nil {
		return nil, wrapErr("list api keys", err)
	}
	return collect(rows, "list api keys", scanAPIKey)
}

// UpdateAPIKey rewrites everything but the id, tenant and creation time
// (API keys carry no version).
func (r apiKeyRepo) UpdateAPIKey(ctx context.Context, tenant store.TenantID, id string, fn func(*store.APIKey) error) (*store.APIKey, error) {
	var out *store.APIKey
	err := r.write(ctx, func(q querier) error {
		old, err := scanAPIKey(q.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = $1 AND id = $2`+r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("update api key", err)
		}
		n := *old
		n.Scopes = append([]string(nil), old.Scopes...)
		n.Hash = cloneBytes(old.Hash)
		n.ExpiresAt, n.RevokedAt, n.LastUsedAt = microPtr(old.ExpiresAt), microPtr(old.RevokedAt), microPtr(old.LastUsedAt)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update api key: the closure changed the id or tenant")
		}
		if err := validAPIKey(&n); err != nil {
			return err
		}
		n.CreatedAt = old.CreatedAt
		n.ExpiresAt, n.RevokedAt, n.LastUsedAt = microPtr(n.ExpiresAt), microPtr(n.RevokedAt), microPtr(n.LastUsedAt)
		_, err = q.ExecContext(ctx, `UPDATE api_keys SET name = $1, scopes = $2, hash = $3, hint = $4, expires_at = $5,
revoked_at = $6, last_used_at = $7 WHERE tenant_id = $8 AND id = $9`,
			n.Name, scopesJSON(n.Scopes), n.Hash, n.Hint, nullMicros(n.ExpiresAt), nullMicros(n.RevokedAt),
			nullMicros(n.LastUsedAt), string(n.Tenant), n.ID)
		if err != nil {
			return wrapErr("update api key", err)
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TouchAPIKey records a use at most once a minute: the condition makes the
// common case (a key used again within the minute) a no-op UPDATE that
// writes nothing, so busy keys do not turn every request into a write. An
// unknown id is not an error.
func (r apiKeyRepo) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := r.q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1
WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`,
		at.UnixMicro(), id, at.Add(-time.Minute).UnixMicro())
	return wrapErr("touch api key", err)
}
