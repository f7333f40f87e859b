package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type sessionRepo struct{ *scope }

const sessionCols = `tenant_id, id, user_id, token_hash, auth_time, amr, user_agent, ip, created_at, last_seen_at,
expires_at, revoked_at, clients`

func scanSession(r scanner) (*store.Session, error) {
	var (
		s                      store.Session
		tenant, amr, clients   string
		authTime, revoked      sql.NullInt64
		created, seen, expires int64
	)
	err := r.Scan(&tenant, &s.ID, &s.UserID, &s.TokenHash, &authTime, &amr, &s.UserAgent, &s.IP, &created, &seen,
		&expires, &revoked, &clients)
	if err != nil {
		return nil, err
	}
	s.Tenant = store.TenantID(tenant)
	if err := parseList(amr, &s.AMR); err != nil {
		return nil, err
	}
	if err := parseList(clients, &s.Clients); err != nil {
		return nil, err
	}
	s.AuthTime, s.CreatedAt, s.LastSeenAt = timeOrZero(authTime), fromMicros(created), fromMicros(seen)
	s.ExpiresAt, s.RevokedAt = fromMicros(expires), timePtr(revoked)
	return &s, nil
}

func validSession(s *store.Session) error {
	switch {
	case s.ID == "" || s.Tenant == "" || s.UserID == "":
		return errors.New("sqlstore: session needs an id, a tenant and a user")
	case len(s.TokenHash) == 0:
		return errors.New("sqlstore: session needs a token hash")
	case s.ExpiresAt.IsZero():
		return errors.New("sqlstore: session needs an expiry")
	}
	return nil
}

// normSession makes s what it reads back as (deep copies included).
func normSession(s *store.Session) {
	s.TokenHash = cloneBytes(s.TokenHash)
	s.AMR, s.Clients = normList(s.AMR), normList(s.Clients)
	s.AuthTime, s.CreatedAt, s.LastSeenAt = microOrZero(s.AuthTime), micro(s.CreatedAt), micro(s.LastSeenAt)
	s.ExpiresAt, s.RevokedAt = micro(s.ExpiresAt), microPtr(s.RevokedAt)
}

// CreateSession inserts s (CreatedAt now and LastSeenAt CreatedAt when
// unset). ErrConflict when the id or token hash is taken in the tenant,
// ErrNotFound when the user does not exist there.
func (r sessionRepo) CreateSession(ctx context.Context, s *store.Session) error {
	if err := validSession(s); err != nil {
		return err
	}
	n := *s
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	if n.LastSeenAt.IsZero() {
		n.LastSeenAt = n.CreatedAt
	}
	normSession(&n)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (`+placeholders(0, 13)+`)`,
			string(n.Tenant), n.ID, n.UserID, n.TokenHash, nullTime(n.AuthTime), listJSON(n.AMR), n.UserAgent, n.IP,
			n.CreatedAt.UnixMicro(), n.LastSeenAt.UnixMicro(), n.ExpiresAt.UnixMicro(), nullMicros(n.RevokedAt),
			listJSON(n.Clients))
		return wrapErr("create session", err)
	})
	if err != nil {
		return err
	}
	*s = n
	return nil
}

// GetSessionByToken answers only a live session: not revoked, and
// ExpiresAt after the store's clock. Idle timeouts are the caller's (it
// knows the policy; LastSeenAt is here).
func (r sessionRepo) GetSessionByToken(ctx context.Context, tenant store.TenantID, tokenHash []byte) (*store.Session, error) {
	s, err := scanSession(r.q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions
WHERE tenant_id = $1 AND token_hash = $2 AND revoked_at IS NULL AND expires_at > $3`,
		string(tenant), tokenHash, r.db.nowMicro().UnixMicro()))
	return s, wrapErr("get session by token", err)
}

// GetSession answers the session in any state (revoked and expired ones
// too: back-channel logout and audits need them).
func (r sessionRepo) GetSession(ctx context.Context, tenant store.TenantID, id string) (*store.Session, error) {
	s, err := scanSession(r.q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return s, wrapErr("get session", err)
}

// UpdateSession is the closure update of doc.go (sessions carry no
// version); ID, Tenant, UserID and CreatedAt are fixed.
func (r sessionRepo) UpdateSession(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Session) error) (*store.Session, error) {
	const op = "update session"
	var out *store.Session
	err := r.write(ctx, func(q querier) error {
		old, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`+r.forUpdate(),
			string(tenant), id))
		if err != nil {
			return wrapErr(op, err)
		}
		n := *old
		normSession(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant || n.UserID != old.UserID {
			return errors.New("sqlstore: update session: the closure changed the id, tenant or user")
		}
		if err := validSession(&n); err != nil {
			return err
		}
		n.CreatedAt = old.CreatedAt
		normSession(&n)
		res, err := q.ExecContext(ctx, `UPDATE sessions SET token_hash = $1, auth_time = $2, amr = $3, user_agent = $4, ip = $5,
last_seen_at = $6, expires_at = $7, revoked_at = $8, clients = $9 WHERE tenant_id = $10 AND id = $11`,
			n.TokenHash, nullTime(n.AuthTime), listJSON(n.AMR), n.UserAgent, n.IP, n.LastSeenAt.UnixMicro(),
			n.ExpiresAt.UnixMicro(), nullMicros(n.RevokedAt), listJSON(n.Clients), string(n.Tenant), n.ID)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
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

// ListUserSessions answers the user's live sessions (neither revoked nor
// expired), by id.
func (r sessionRepo) ListUserSessions(ctx context.Context, tenant store.TenantID, userID string) ([]store.Session, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 ORDER BY id`,
		string(tenant), userID, r.db.nowMicro().UnixMicro())
	if err != nil {
		return nil, wrapErr("list user sessions", err)
	}
	return collect(rows, "list user sessions", scanSession)
}

// RevokeSession: ErrNotFound when there is no such session; revoking a
// revoked one keeps its first revocation time.
func (r sessionRepo) RevokeSession(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3`,
			r.db.nowMicro().UnixMicro(), string(tenant), id)
		if err != nil {
			return wrapErr("revoke session", err)
		}
		return oneRow(res, "revoke session")
	})
}

// RevokeUserSessions revokes every session of the user not revoked yet.
func (r sessionRepo) RevokeUserSessions(ctx context.Context, tenant store.TenantID, userID string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL`,
			r.db.nowMicro().UnixMicro(), string(tenant), userID)
		return wrapErr("revoke user sessions", err)
	})
}
