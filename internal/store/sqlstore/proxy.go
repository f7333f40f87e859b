package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type proxyRepo struct{ *scope }

var _ store.ProxyRepos = proxyRepo{}

func (s *scope) Proxy() store.ProxyRepos { return proxyRepo{s} }

const proxyAppCols = `tenant_id, id, name, domains, allowed_groups, allowed_roles, headers, session_lifetime, mfa,
version, created_at, updated_at`

func scanProxyApp(r scanner) (*store.ProxyApp, error) {
	var (
		a                                       store.ProxyApp
		tenant, domains, groups, roles, headers string
		lifetime, created, updated              int64
	)
	err := r.Scan(&tenant, &a.ID, &a.Name, &domains, &groups, &roles, &headers, &lifetime, &a.MFA,
		&a.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.Tenant = store.TenantID(tenant)
	for _, x := range []struct {
		raw string
		dst *[]string
	}{{domains, &a.Domains}, {groups, &a.AllowedGroups}, {roles, &a.AllowedRoles}} {
		if err := parseList(x.raw, x.dst); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal([]byte(headers), &a.Headers); err != nil {
		return nil, err
	}
	if a.Headers == nil {
		a.Headers = map[string]string{}
	}
	a.SessionLifetime = fromDurMicros(lifetime)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &a, nil
}

func validProxyApp(a *store.ProxyApp) error {
	if a.ID == "" || a.Tenant == "" || a.Name == "" {
		return errors.New("sqlstore: proxy app needs an id, a tenant and a name")
	}
	return nil
}

// normProxyApp makes a what it reads back as (deep copies included).
func normProxyApp(a *store.ProxyApp) {
	a.Domains, a.AllowedGroups, a.AllowedRoles = normList(a.Domains), normList(a.AllowedGroups), normList(a.AllowedRoles)
	a.Headers = maps.Clone(a.Headers)
	if a.Headers == nil {
		a.Headers = map[string]string{}
	}
	a.SessionLifetime = microDur(a.SessionLifetime)
	a.CreatedAt, a.UpdatedAt = micro(a.CreatedAt), micro(a.UpdatedAt)
}

func proxyAppArgs(a *store.ProxyApp) ([]any, error) {
	h, err := json.Marshal(a.Headers)
	if err != nil {
		return nil, err
	}
	return []any{a.Name, listJSON(a.Domains), listJSON(a.AllowedGroups), listJSON(a.AllowedRoles), string(h),
		durMicros(a.SessionLifetime), a.MFA, a.Version, a.UpdatedAt.UnixMicro()}, nil
}

// putDomains makes the domain index of a exactly a.Domains.
func putDomains(ctx context.Context, q querier, a *store.ProxyApp) error {
	const op = "proxy app domains"
	if _, err := q.ExecContext(ctx, `DELETE FROM proxy_app_domains WHERE tenant_id = $1 AND app_id = $2`,
		string(a.Tenant), a.ID); err != nil {
		return wrapErr(op, err)
	}
	for _, d := range a.Domains {
		if _, err := q.ExecContext(ctx, `INSERT INTO proxy_app_domains (tenant_id, domain, app_id) VALUES ($1, $2, $3)`,
			string(a.Tenant), d, a.ID); err != nil {
			return wrapErr(op, err)
		}
	}
	return nil
}

// CreateApp inserts a and its domains in one transaction.
func (r proxyRepo) CreateApp(ctx context.Context, a *store.ProxyApp) error {
	if err := validProxyApp(a); err != nil {
		return err
	}
	n := *a
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.UpdatedAt = n.CreatedAt
	normProxyApp(&n)
	args, err := proxyAppArgs(&n)
	if err != nil {
		return err
	}
	err = r.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO proxy_apps (name, domains, allowed_groups, allowed_roles, headers,
session_lifetime, mfa, version, updated_at, tenant_id, id, created_at) VALUES (`+placeholders(0, 12)+`)`,
			append(args, string(n.Tenant), n.ID, n.CreatedAt.UnixMicro())...)
		if err != nil {
			return wrapErr("create proxy app", err)
		}
		return putDomains(ctx, q, &n)
	})
	if err != nil {
		return err
	}
	*a = n
	return nil
}

func (r proxyRepo) getApp(ctx context.Context, q querier, lock string, tenant store.TenantID, id string) (*store.ProxyApp, error) {
	a, err := scanProxyApp(q.QueryRowContext(ctx, `SELECT `+proxyAppCols+` FROM proxy_apps
WHERE tenant_id = $1 AND id = $2`+lock, string(tenant), id))
	return a, wrapErr("get proxy app", err)
}

func (r proxyRepo) GetApp(ctx context.Context, tenant store.TenantID, id string) (*store.ProxyApp, error) {
	return r.getApp(ctx, r.q, "", tenant, id)
}

func (r proxyRepo) AppByDomain(ctx context.Context, tenant store.TenantID, domain string) (*store.ProxyApp, error) {
	a, err := scanProxyApp(r.q.QueryRowContext(ctx, `SELECT `+proxyAppCols+` FROM proxy_apps
WHERE tenant_id = $1 AND id = (SELECT app_id FROM proxy_app_domains WHERE tenant_id = $1 AND domain = $2)`,
		string(tenant), domain))
	return a, wrapErr("proxy app by domain", err)
}

func (r proxyRepo) ListApps(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.ProxyApp, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+proxyAppCols+` FROM proxy_apps
WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list proxy apps", err)
	}
	return collect(rows, "list proxy apps", scanProxyApp)
}

// UpdateApp is the closure update of doc.go; the domain index follows.
func (r proxyRepo) UpdateApp(ctx context.Context, tenant store.TenantID, id string, fn func(*store.ProxyApp) error) (*store.ProxyApp, error) {
	const op = "update proxy app"
	var out *store.ProxyApp
	err := r.write(ctx, func(q querier) error {
		old, err := r.getApp(ctx, q, r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normProxyApp(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update proxy app: the closure changed the id or tenant")
		}
		if err := validProxyApp(&n); err != nil {
			return err
		}
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.now()
		normProxyApp(&n)
		args, err := proxyAppArgs(&n)
		if err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE proxy_apps SET name = $1, domains = $2, allowed_groups = $3,
allowed_roles = $4, headers = $5, session_lifetime = $6, mfa = $7, version = $8, updated_at = $9
WHERE tenant_id = $10 AND id = $11`, append(args, string(n.Tenant), n.ID)...)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
			return err
		}
		if err := putDomains(ctx, q, &n); err != nil {
			return err
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteApp deletes the application; its domains, codes and sessions go
// with it (ON DELETE CASCADE).
func (r proxyRepo) DeleteApp(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM proxy_apps WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete proxy app", err)
		}
		return oneRow(res, "delete proxy app")
	})
}

func (r proxyRepo) CreateCode(ctx context.Context, c *store.ProxyCode) error {
	if c.Tenant == "" || len(c.Hash) == 0 || len(c.BrowserHash) == 0 || c.AppID == "" || c.SessionID == "" || c.ExpiresAt.IsZero() {
		return errors.New("sqlstore: proxy code needs a tenant, a hash, an app, a session and an expiry")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO proxy_codes (tenant_id, code_hash, app_id, session_id, return_url,
browser_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, string(c.Tenant), c.Hash, c.AppID, c.SessionID,
			c.ReturnURL, c.BrowserHash, c.ExpiresAt.UnixMicro())
		return wrapErr("create proxy code", err)
	})
}

// ConsumeCode is one conditional DELETE ... RETURNING: only one caller
// gets the row.
func (r proxyRepo) ConsumeCode(ctx context.Context, tenant store.TenantID, hash []byte) (*store.ProxyCode, error) {
	const op = "consume proxy code"
	var out *store.ProxyCode
	err := r.single(ctx, func(q querier) error {
		var (
			c       store.ProxyCode
			t       string
			expires int64
		)
		err := q.QueryRowContext(ctx, `DELETE FROM proxy_codes WHERE tenant_id = $1 AND code_hash = $2 AND expires_at > $3
RETURNING tenant_id, code_hash, app_id, session_id, return_url, browser_hash, expires_at`,
			string(tenant), hash, r.db.nowMicro().UnixMicro()).Scan(&t, &c.Hash, &c.AppID, &c.SessionID, &c.ReturnURL,
			&c.BrowserHash, &expires)
		if err != nil {
			return wrapErr(op, err)
		}
		c.Tenant, c.ExpiresAt = store.TenantID(t), fromMicros(expires)
		out = &c
		return nil
	})
	return out, err
}

func (r proxyRepo) CreateSession(ctx context.Context, s *store.ProxySession) error {
	if s.Tenant == "" || len(s.Hash) == 0 || s.AppID == "" || s.SessionID == "" || s.ExpiresAt.IsZero() {
		return errors.New("sqlstore: proxy session needs a tenant, a hash, an app, a session and an expiry")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = r.db.now()
	}
	s.CreatedAt, s.ExpiresAt = micro(s.CreatedAt), micro(s.ExpiresAt)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO proxy_sessions (tenant_id, token_hash, app_id, session_id, created_at,
expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, string(s.Tenant), s.Hash, s.AppID, s.SessionID,
			s.CreatedAt.UnixMicro(), s.ExpiresAt.UnixMicro())
		return wrapErr("create proxy session", err)
	})
}

func (r proxyRepo) GetSession(ctx context.Context, tenant store.TenantID, hash []byte) (*store.ProxySession, error) {
	var (
		s                store.ProxySession
		t                string
		created, expires int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT tenant_id, token_hash, app_id, session_id, created_at, expires_at
FROM proxy_sessions WHERE tenant_id = $1 AND token_hash = $2 AND expires_at > $3`,
		string(tenant), hash, r.db.nowMicro().UnixMicro()).Scan(&t, &s.Hash, &s.AppID, &s.SessionID, &created, &expires)
	if err != nil {
		return nil, wrapErr("get proxy session", err)
	}
	s.Tenant, s.CreatedAt, s.ExpiresAt = store.TenantID(t), fromMicros(created), fromMicros(expires)
	return &s, nil
}

func (r proxyRepo) DeleteSession(ctx context.Context, tenant store.TenantID, hash []byte) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM proxy_sessions WHERE tenant_id = $1 AND token_hash = $2`,
			string(tenant), hash)
		if err != nil {
			return wrapErr("delete proxy session", err)
		}
		return oneRow(res, "delete proxy session")
	})
}

// DeleteExpired removes expired codes and application sessions of every
// tenant (the hourly upkeep).
func (r proxyRepo) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	for _, table := range []string{"proxy_codes", "proxy_sessions"} { // never input
		res, err := r.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at < $1`, before.UnixMicro())
		if err != nil {
			return n, wrapErr("delete expired "+table, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, wrapErr("delete expired "+table, err)
		}
		n += k
	}
	return n, nil
}
