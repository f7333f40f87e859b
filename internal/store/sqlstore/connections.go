package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// connectionRepos are the identity-brokering aggregates, bound to the same
// scope (pool or InTx transaction) as the others.
type connectionRepos struct{ *scope }

var _ store.ConnectionRepos = connectionRepos{}

func (s *scope) Connections() store.ConnectionRepos { return connectionRepos{s} }

func (c connectionRepos) Connections() store.Connections   { return connRepo{c.scope} }
func (c connectionRepos) Identities() store.Identities     { return identityRepo{c.scope} }
func (c connectionRepos) BrokerStates() store.BrokerStates { return brokerStateRepo{c.scope} }

type connRepo struct{ *scope }

const connCols = `tenant_id, id, name, type, display_name, enabled, config, sealed_secret, version, created_at, updated_at`

func scanConn(r scanner) (*store.Connection, error) {
	var (
		c                store.Connection
		tenant, config   string
		created, updated int64
	)
	if err := r.Scan(&tenant, &c.ID, &c.Name, &c.Type, &c.DisplayName, &c.Enabled, &config, &c.SealedSecret,
		&c.Version, &created, &updated); err != nil {
		return nil, err
	}
	c.Tenant, c.Config = store.TenantID(tenant), []byte(config)
	c.SealedSecret = bytesOrNil(c.SealedSecret)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func validConn(c *store.Connection) error {
	if c.ID == "" || c.Tenant == "" || c.Name == "" || c.Type == "" {
		return errors.New("sqlstore: connection needs an id, a tenant, a name and a type")
	}
	return nil
}

// CreateConnection inserts c with Version 1 when unset.
func (r connRepo) CreateConnection(ctx context.Context, c *store.Connection) error {
	if err := validConn(c); err != nil {
		return err
	}
	if c.Version == 0 {
		c.Version = 1
	}
	now := r.db.nowMicro()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO connections (`+connCols+`) VALUES (`+placeholders(0, 11)+`)`,
			string(c.Tenant), c.ID, c.Name, c.Type, c.DisplayName, c.Enabled, jsonOr(c.Config, "{}"),
			nullBytes(c.SealedSecret), c.Version, micro(c.CreatedAt).UnixMicro(), micro(c.UpdatedAt).UnixMicro())
		return wrapErr("create connection", err)
	})
}

func (r connRepo) GetConnection(ctx context.Context, tenant store.TenantID, id string) (*store.Connection, error) {
	c, err := scanConn(r.q.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return c, wrapErr("get connection", err)
}

func (r connRepo) GetConnectionByName(ctx context.Context, tenant store.TenantID, name string) (*store.Connection, error) {
	c, err := scanConn(r.q.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections WHERE tenant_id = $1 AND name = $2`,
		string(tenant), name))
	return c, wrapErr("get connection by name", err)
}

func (r connRepo) ListConnections(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Connection, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+connCols+` FROM connections WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list connections", err)
	}
	return collect(rows, "list connections", scanConn)
}

func (r connRepo) UpdateConnection(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	const op = "update connection"
	var out *store.Connection
	err := r.write(ctx, func(q querier) error {
		old, err := scanConn(q.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections WHERE tenant_id = $1 AND id = $2`+r.forUpdate(),
			string(tenant), id))
		if err != nil {
			return wrapErr(op, err)
		}
		n := *old
		n.Config, n.SealedSecret = cloneBytes(old.Config), cloneBytes(old.SealedSecret)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update connection: the closure changed the id or tenant")
		}
		if err := validConn(&n); err != nil {
			return err
		}
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE connections SET name = $1, type = $2, display_name = $3, enabled = $4,
config = $5, sealed_secret = $6, version = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10 AND version = $11`,
			n.Name, n.Type, n.DisplayName, n.Enabled, jsonOr(n.Config, "{}"), nullBytes(n.SealedSecret), n.Version,
			n.UpdatedAt.UnixMicro(), string(tenant), id, old.Version)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
			return err
		}
		n.SealedSecret = bytesOrNil(n.SealedSecret)
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteConnection removes the connection; its identities go by cascade.
func (r connRepo) DeleteConnection(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM connections WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete connection", err)
		}
		return oneRow(res, "delete connection")
	})
}

type identityRepo struct{ *scope }

const identityCols = `tenant_id, id, user_id, connection_id, subject, email, sealed_tokens, created_at, last_login_at`

func scanIdentity(r scanner) (*store.Identity, error) {
	var (
		i                store.Identity
		tenant           string
		created, loginAt int64
	)
	if err := r.Scan(&tenant, &i.ID, &i.UserID, &i.ConnectionID, &i.Subject, &i.Email, &i.SealedTokens,
		&created, &loginAt); err != nil {
		return nil, err
	}
	i.Tenant, i.SealedTokens = store.TenantID(tenant), bytesOrNil(i.SealedTokens)
	i.CreatedAt, i.LastLoginAt = fromMicros(created), fromMicros(loginAt)
	return &i, nil
}

func (r identityRepo) CreateIdentity(ctx context.Context, i *store.Identity) error {
	if i.ID == "" || i.Tenant == "" || i.UserID == "" || i.ConnectionID == "" || i.Subject == "" {
		return errors.New("sqlstore: identity needs an id, a tenant, a user, a connection and a subject")
	}
	now := r.db.nowMicro()
	if i.CreatedAt.IsZero() {
		i.CreatedAt = now
	}
	if i.LastLoginAt.IsZero() {
		i.LastLoginAt = i.CreatedAt
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO user_identities (`+identityCols+`) VALUES (`+placeholders(0, 9)+`)`,
			string(i.Tenant), i.ID, i.UserID, i.ConnectionID, i.Subject, i.Email, nullBytes(i.SealedTokens),
			micro(i.CreatedAt).UnixMicro(), micro(i.LastLoginAt).UnixMicro())
		return wrapErr("create identity", err)
	})
}

func (r identityRepo) GetIdentityBySubject(ctx context.Context, tenant store.TenantID, connectionID, subject string) (*store.Identity, error) {
	i, err := scanIdentity(r.q.QueryRowContext(ctx, `SELECT `+identityCols+` FROM user_identities
WHERE tenant_id = $1 AND connection_id = $2 AND subject = $3`, string(tenant), connectionID, subject))
	return i, wrapErr("get identity", err)
}

func (r identityRepo) ListUserIdentities(ctx context.Context, tenant store.TenantID, userID string) ([]store.Identity, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+identityCols+` FROM user_identities WHERE tenant_id = $1 AND user_id = $2
ORDER BY id`, string(tenant), userID)
	if err != nil {
		return nil, wrapErr("list identities", err)
	}
	out, err := collect(rows, "list identities", scanIdentity)
	if out == nil && err == nil {
		out = []store.Identity{}
	}
	return out, err
}

func (r identityRepo) ListConnectionIdentities(ctx context.Context, tenant store.TenantID, connectionID string, p store.Page) ([]store.Identity, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+identityCols+` FROM user_identities
WHERE tenant_id = $1 AND connection_id = $2 AND subject > $3 ORDER BY subject LIMIT $4`,
		string(tenant), connectionID, p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list connection identities", err)
	}
	out, err := collect(rows, "list connection identities", scanIdentity)
	if out == nil && err == nil {
		out = []store.Identity{}
	}
	return out, err
}

func (r identityRepo) TouchIdentity(ctx context.Context, tenant store.TenantID, id string, at time.Time, email string, sealedTokens []byte) error {
	return r.single(ctx, func(q querier) error {
		var (
			res sql.Result
			err error
		)
		if sealedTokens == nil {
			res, err = q.ExecContext(ctx, `UPDATE user_identities SET last_login_at = $1, email = $2 WHERE tenant_id = $3 AND id = $4`,
				micro(at).UnixMicro(), email, string(tenant), id)
		} else {
			res, err = q.ExecContext(ctx, `UPDATE user_identities SET last_login_at = $1, email = $2, sealed_tokens = $3
WHERE tenant_id = $4 AND id = $5`, micro(at).UnixMicro(), email, nullBytes(sealedTokens), string(tenant), id)
		}
		if err != nil {
			return wrapErr("touch identity", err)
		}
		return oneRow(res, "touch identity")
	})
}

func (r identityRepo) DeleteIdentity(ctx context.Context, tenant store.TenantID, userID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM user_identities WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
			string(tenant), userID, id)
		if err != nil {
			return wrapErr("delete identity", err)
		}
		return oneRow(res, "delete identity")
	})
}

type brokerStateRepo struct{ *scope }

func (r brokerStateRepo) PutState(ctx context.Context, s *store.BrokerState) error {
	if s.Tenant == "" || len(s.Hash) == 0 || s.Purpose == "" || len(s.Sealed) == 0 || s.ExpiresAt.IsZero() {
		return errors.New("sqlstore: broker state needs a tenant, a hash, a purpose, content and an expiry")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO broker_states (tenant_id, hash, purpose, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			string(s.Tenant), s.Hash, s.Purpose, s.Sealed, micro(s.ExpiresAt).UnixMicro())
		return wrapErr("put broker state", err)
	})
}

// TakeState is one DELETE ... RETURNING: the database decides which of two
// concurrent takes gets the row.
func (r brokerStateRepo) TakeState(ctx context.Context, tenant store.TenantID, purpose string, hash []byte) (*store.BrokerState, error) {
	if len(hash) == 0 {
		return nil, notFound("take broker state")
	}
	var out *store.BrokerState
	err := r.single(ctx, func(q querier) error {
		var (
			s       store.BrokerState
			expires int64
		)
		err := q.QueryRowContext(ctx, `DELETE FROM broker_states WHERE tenant_id = $1 AND hash = $2 AND purpose = $3
RETURNING purpose, sealed, expires_at`, string(tenant), hash, purpose).Scan(&s.Purpose, &s.Sealed, &expires)
		if err != nil {
			return wrapErr("take broker state", err)
		}
		s.Tenant, s.Hash, s.ExpiresAt = tenant, cloneBytes(hash), fromMicros(expires)
		if !s.ExpiresAt.After(r.db.nowMicro()) {
			return notFound("take broker state")
		}
		out = &s
		return nil
	})
	return out, err
}

func (r brokerStateRepo) PurgeStates(ctx context.Context, now time.Time) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM broker_states WHERE expires_at <= $1`, micro(now).UnixMicro())
		return wrapErr("purge broker states", err)
	})
}
