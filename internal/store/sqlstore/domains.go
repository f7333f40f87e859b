package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type domainRepo struct{ *scope }

var _ store.Domains = domainRepo{}

func (s *scope) Domains() store.Domains { return domainRepo{s} }

const domainCols = `host, tenant_id, status, token, created_at, verified_at, cert_pem, key_sealed, cert_not_after`

func scanDomain(r scanner) (*store.CustomDomain, error) {
	var (
		d                              store.CustomDomain
		tenant                         string
		created, verified, certExpires int64
	)
	if err := r.Scan(&d.Host, &tenant, &d.Status, &d.Token, &created, &verified, &d.CertPEM, &d.KeySealed,
		&certExpires); err != nil {
		return nil, err
	}
	d.Tenant = store.TenantID(tenant)
	d.CreatedAt = fromMicros(created)
	if verified != 0 {
		d.VerifiedAt = fromMicros(verified)
	}
	if certExpires != 0 {
		d.CertNotAfter = fromMicros(certExpires)
	}
	if len(d.KeySealed) == 0 {
		d.KeySealed = nil
	}
	return &d, nil
}

// microsOrZero stores the zero time as 0.
func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func (r domainRepo) Create(ctx context.Context, d *store.CustomDomain) error {
	if d.Host == "" || d.Tenant == "" || d.Token == "" || d.Status == "" {
		return errors.New("sqlstore: custom domain needs a host, a tenant, a token and a status")
	}
	n := *d
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt, n.VerifiedAt, n.CertNotAfter = micro(n.CreatedAt), microOrZero(n.VerifiedAt), microOrZero(n.CertNotAfter)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO custom_domains (`+domainCols+`) VALUES (`+placeholders(0, 9)+`)`,
			n.Host, string(n.Tenant), n.Status, n.Token, n.CreatedAt.UnixMicro(), microsOrZero(n.VerifiedAt),
			n.CertPEM, n.KeySealed, microsOrZero(n.CertNotAfter))
		return wrapErr("create custom domain", err)
	})
	if err != nil {
		return err
	}
	*d = n
	return nil
}

func (r domainRepo) get(ctx context.Context, q querier, lock string, tenant store.TenantID, host string) (*store.CustomDomain, error) {
	d, err := scanDomain(q.QueryRowContext(ctx, `SELECT `+domainCols+` FROM custom_domains
WHERE tenant_id = $1 AND host = $2`+lock, string(tenant), host))
	return d, wrapErr("get custom domain", err)
}

func (r domainRepo) Get(ctx context.Context, tenant store.TenantID, host string) (*store.CustomDomain, error) {
	return r.get(ctx, r.q, "", tenant, host)
}

func (r domainRepo) ByHost(ctx context.Context, host string) (*store.CustomDomain, error) {
	d, err := scanDomain(r.q.QueryRowContext(ctx, `SELECT `+domainCols+` FROM custom_domains WHERE host = $1`, host))
	return d, wrapErr("custom domain by host", err)
}

func (r domainRepo) List(ctx context.Context, tenant store.TenantID) ([]store.CustomDomain, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+domainCols+` FROM custom_domains WHERE tenant_id = $1 ORDER BY host`,
		string(tenant))
	if err != nil {
		return nil, wrapErr("list custom domains", err)
	}
	return collect(rows, "list custom domains", scanDomain)
}

func (r domainRepo) Update(ctx context.Context, tenant store.TenantID, host string, fn func(*store.CustomDomain) error) (*store.CustomDomain, error) {
	var out *store.CustomDomain
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, r.forUpdate(), tenant, host)
		if err != nil {
			return err
		}
		n := *old
		if err := fn(&n); err != nil {
			return err
		}
		n.Host, n.Tenant, n.CreatedAt = old.Host, old.Tenant, old.CreatedAt
		n.VerifiedAt, n.CertNotAfter = microOrZero(n.VerifiedAt), microOrZero(n.CertNotAfter)
		res, err := q.ExecContext(ctx, `UPDATE custom_domains SET status = $1, token = $2, verified_at = $3,
cert_pem = $4, key_sealed = $5, cert_not_after = $6 WHERE tenant_id = $7 AND host = $8`,
			n.Status, n.Token, microsOrZero(n.VerifiedAt), n.CertPEM, n.KeySealed, microsOrZero(n.CertNotAfter),
			string(tenant), host)
		if err != nil {
			return wrapErr("update custom domain", err)
		}
		if err := oneRow(res, "update custom domain"); err != nil {
			return err
		}
		out = &n
		return nil
	})
	return out, err
}

func (r domainRepo) Delete(ctx context.Context, tenant store.TenantID, host string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM custom_domains WHERE tenant_id = $1 AND host = $2`, string(tenant), host)
		if err != nil {
			return wrapErr("delete custom domain", err)
		}
		return oneRow(res, "delete custom domain")
	})
}

type tlsRepo struct{ *scope }

var _ store.TLSStorage = tlsRepo{}

func (s *scope) TLS() store.TLSStorage { return tlsRepo{s} }

func (r tlsRepo) Put(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO tls_storage (key, value, modified_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified_at = excluded.modified_at`,
			key, value, r.db.nowMicro().UnixMicro())
		return wrapErr("tls storage put", err)
	})
}

func (r tlsRepo) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	var (
		v   []byte
		mod int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT value, modified_at FROM tls_storage WHERE key = $1`, key).Scan(&v, &mod)
	if err != nil {
		return nil, time.Time{}, wrapErr("tls storage get", err)
	}
	return v, fromMicros(mod), nil
}

// likePrefix escapes s for a LIKE pattern with '\' as the escape.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

func (r tlsRepo) Delete(ctx context.Context, key string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM tls_storage WHERE key = $1 OR key LIKE $2 ESCAPE '\'`,
			key, likePrefix(key+"/"))
		if err != nil {
			return wrapErr("tls storage delete", err)
		}
		return oneRow(res, "tls storage delete")
	})
}

func (r tlsRepo) Keys(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	under := strings.TrimSuffix(prefix, "/") + "/"
	if prefix == "" {
		under = ""
	}
	rows, err := r.q.QueryContext(ctx, `SELECT key FROM tls_storage WHERE key LIKE $1 ESCAPE '\' ORDER BY key`,
		likePrefix(under))
	if err != nil {
		return nil, wrapErr("tls storage keys", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, wrapErr("tls storage keys", err)
		}
		if !recursive {
			rest := strings.TrimPrefix(k, under)
			if child, _, deeper := strings.Cut(rest, "/"); deeper {
				k = under + child
			}
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("tls storage keys", err)
	}
	sort.Strings(out)
	return out, nil
}

func (r tlsRepo) TryLock(ctx context.Context, name string, now, expires time.Time) (bool, error) {
	var took bool
	err := r.single(ctx, func(q querier) error {
		// One statement decides: insert, or take over an expired lock.
		res, err := q.ExecContext(ctx, `INSERT INTO tls_locks (name, expires_at) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at WHERE tls_locks.expires_at <= $3`,
			name, expires.UnixMicro(), now.UnixMicro())
		if err != nil {
			return wrapErr("tls lock", err)
		}
		n, err := res.RowsAffected()
		took = n == 1
		return wrapErr("tls lock", err)
	})
	return took, err
}

func (r tlsRepo) Unlock(ctx context.Context, name string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM tls_locks WHERE name = $1`, name)
		return wrapErr("tls unlock", err)
	})
}

type queueRepo struct{ *scope }

var _ store.QueueStats = queueRepo{}

func (s *scope) Queues() store.QueueStats { return queueRepo{s} }

func (r queueRepo) backlog(ctx context.Context, op, query string) (store.Backlog, error) {
	var (
		b      store.Backlog
		oldest sql.NullInt64
	)
	if err := r.q.QueryRowContext(ctx, query).Scan(&b.Depth, &oldest); err != nil {
		return b, wrapErr(op, err)
	}
	if oldest.Valid && b.Depth > 0 {
		b.Oldest = fromMicros(oldest.Int64)
	}
	return b, nil
}

func (r queueRepo) Mail(ctx context.Context) (store.Backlog, error) {
	return r.backlog(ctx, "mail backlog",
		`SELECT COUNT(*), MIN(created_at) FROM mail_queue WHERE status IN ('pending', 'sending')`)
}

func (r queueRepo) Events(ctx context.Context) (store.Backlog, error) {
	return r.backlog(ctx, "event backlog",
		`SELECT COUNT(*), MIN(created_at) FROM event_deliveries WHERE state IN ('pending', 'failed', 'sending')`)
}
