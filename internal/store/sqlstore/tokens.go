package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tokenRepo struct{ *scope }

const refreshCols = `tenant_id, id, hash, family_id, client_id, user_id, session_id, scopes, audience, auth_time, amr,
created_at, expires_at, rotated_at, revoked_at, kind, jkt`

func scanRefresh(r scanner) (*store.RefreshToken, error) {
	var (
		t                   store.RefreshToken
		tenant, scopes, aud string
		amr                 string
		authTime            sql.NullInt64
		created, expires    int64
		rotated, revoked    sql.NullInt64
	)
	err := r.Scan(&tenant, &t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, &scopes, &aud,
		&authTime, &amr, &created, &expires, &rotated, &revoked, &t.Kind, &t.JKT)
	if err != nil {
		return nil, err
	}
	t.Tenant = store.TenantID(tenant)
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{scopes, &t.Scopes}, {aud, &t.Audience}, {amr, &t.AMR}} {
		if err := parseList(l.raw, l.dst); err != nil {
			return nil, err
		}
	}
	t.AuthTime, t.CreatedAt, t.ExpiresAt = timeOrZero(authTime), fromMicros(created), fromMicros(expires)
	t.RotatedAt, t.RevokedAt = timePtr(rotated), timePtr(revoked)
	return &t, nil
}

// newRefresh validates t and answers the row to insert.
func (r tokenRepo) newRefresh(t *store.RefreshToken) (store.RefreshToken, error) {
	if t == nil {
		return store.RefreshToken{}, errors.New("sqlstore: nil refresh token")
	}
	n := *t
	switch {
	case n.ID == "" || n.Tenant == "" || len(n.Hash) == 0:
		return n, errors.New("sqlstore: refresh token needs an id, a tenant and a hash")
	case n.FamilyID == "" || n.ClientID == "" || n.UserID == "":
		return n, errors.New("sqlstore: refresh token needs a family, a client and a user")
	case n.ExpiresAt.IsZero():
		return n, errors.New("sqlstore: refresh token needs an expiry")
	}
	switch n.Kind {
	case "":
		n.Kind = store.GrantCode
	case store.GrantCode, store.GrantDevice:
	default:
		return n, fmt.Errorf("sqlstore: refresh token kind %q is neither code nor device", n.Kind)
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.Hash = cloneBytes(n.Hash)
	n.Scopes, n.Audience, n.AMR = normList(n.Scopes), normList(n.Audience), normList(n.AMR)
	n.AuthTime, n.CreatedAt, n.ExpiresAt = microOrZero(n.AuthTime), micro(n.CreatedAt), micro(n.ExpiresAt)
	n.RotatedAt, n.RevokedAt = microPtr(n.RotatedAt), microPtr(n.RevokedAt)
	return n, nil
}

func insertRefresh(ctx context.Context, q querier, n *store.RefreshToken) error {
	_, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (`+placeholders(0, 17)+`)`,
		string(n.Tenant), n.ID, n.Hash, n.FamilyID, n.ClientID, n.UserID, n.SessionID, listJSON(n.Scopes),
		listJSON(n.Audience), nullTime(n.AuthTime), listJSON(n.AMR), n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro(),
		nullMicros(n.RotatedAt), nullMicros(n.RevokedAt), n.Kind, n.JKT)
	return err
}

// CreateRefreshToken inserts t. ErrConflict when the id or hash is taken in
// the tenant, ErrNotFound when its client or user does not exist there.
func (r tokenRepo) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	n, err := r.newRefresh(t)
	if err != nil {
		return err
	}
	err = r.single(ctx, func(q querier) error { return wrapErr("create refresh token", insertRefresh(ctx, q, &n)) })
	if err != nil {
		return err
	}
	*t = n
	return nil
}

// GetRefreshToken answers the token, rotated or revoked ones included (the
// caller decides), but not once it has expired.
func (r tokenRepo) GetRefreshToken(ctx context.Context, tenant store.TenantID, hash []byte) (*store.RefreshToken, error) {
	t, err := scanRefresh(r.q.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM refresh_tokens
WHERE tenant_id = $1 AND hash = $2 AND expires_at > $3`, string(tenant), hash, r.db.nowMicro().UnixMicro()))
	return t, wrapErr("get refresh token", err)
}

// Advisory lock names (see lockFor).
const (
	lockFamily  = "token-family"
	lockSession = "token-session"
)

// RotateRefreshToken runs in one transaction:
//
//  1. It locks the family and session that next names, which the store's
//     contract makes the old token's (PostgreSQL advisory locks, both in
//     one statement; SQLite's immediate transaction holds the only write
//     lock already). Every rotation, RevokeFamily and RevokeSessionTokens
//     takes the same locks, so a revocation never runs between a
//     rotation's claim and its commit and then misses the successor the
//     rotation inserted (a row lock cannot do this: the successor is a
//     new row). A token's family and session never change, so they need
//     not be read first.
//  2. It claims the old token with one conditional UPDATE (rotated_at set
//     only while it is unrotated, unrevoked and unexpired); exactly one
//     caller can match.
//  3. The winner checks next belongs to the same family, session and
//     client and inserts it. A loser finds the token (ErrNotFound when it
//     is gone or expired), checks the locks it holds are its family's and
//     session's, revokes every refresh and access token of its family,
//     which by now includes the winner's successor, commits that, and
//     answers ErrConflict with the old token.
func (r tokenRepo) RotateRefreshToken(ctx context.Context, tenant store.TenantID, oldHash []byte, next *store.RefreshToken) (*store.RefreshToken, error) {
	const op = "rotate refresh token"
	n, err := r.newRefresh(next)
	if err != nil {
		return nil, err
	}
	if n.Tenant != tenant {
		return nil, fmt.Errorf("sqlstore: %s: the next token belongs to tenant %q, not %q", op, n.Tenant, tenant)
	}
	if n.RotatedAt != nil || n.RevokedAt != nil {
		return nil, fmt.Errorf("sqlstore: %s: the next token is already rotated or revoked", op)
	}
	var (
		out      *store.RefreshToken
		conflict bool
	)
	err = r.write(ctx, func(q querier) error {
		now := r.db.nowMicro()
		if err := r.lockTokens(ctx, q, tenant, n.FamilyID, n.SessionID); err != nil {
			return err
		}
		old, err := scanRefresh(q.QueryRowContext(ctx, `UPDATE refresh_tokens SET rotated_at = $1
WHERE tenant_id = $2 AND hash = $3 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1
RETURNING `+refreshCols, now.UnixMicro(), string(tenant), oldHash))
		switch {
		case err == nil:
			if !sameGrant(&n, old) {
				return errNotSuccessor
			}
			if err := insertRefresh(ctx, q, &n); err != nil {
				return wrapErr(op, err)
			}
			out = &n
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return wrapErr(op, err)
		}
		// Reuse of a rotated token, or use of a revoked one.
		old, err = scanRefresh(q.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM refresh_tokens
WHERE tenant_id = $1 AND hash = $2 AND expires_at > $3`, string(tenant), oldHash, now.UnixMicro()))
		if err != nil {
			return wrapErr(op, err) // gone or expired: ErrNotFound, nothing to revoke
		}
		if n.FamilyID != old.FamilyID || n.SessionID != old.SessionID {
			return errNotSuccessor // the locks held are not this family's
		}
		if err := revokeFamily(ctx, q, tenant, old.FamilyID, now); err != nil {
			return err
		}
		if old.RevokedAt == nil {
			old.RevokedAt = &now
		}
		out, conflict = old, true
		return nil // commit the revocation
	})
	if err != nil {
		return nil, err
	}
	if conflict {
		return out, fmt.Errorf("sqlstore: %s: the token was rotated or revoked before; its family is revoked: %w", op, store.ErrConflict)
	}
	*next = n
	return out, nil
}

// errNotSuccessor refuses a next token that does not continue the old
// one's grant (see RotateRefreshToken); the transaction rolls back.
var errNotSuccessor = errors.New("sqlstore: rotate refresh token: the next token must keep the family, session, client, kind and key binding of the old one")

// sameGrant reports whether next continues old's grant.
func sameGrant(next, old *store.RefreshToken) bool {
	return next.FamilyID == old.FamilyID && next.SessionID == old.SessionID && next.ClientID == old.ClientID &&
		next.Kind == old.Kind && next.JKT == old.JKT
}

// lockTokens takes the family lock, then the session lock: always in that
// order, so lockers never wait on each other in a circle.
func (r tokenRepo) lockTokens(ctx context.Context, q querier, tenant store.TenantID, family, session string) error {
	var names [][]string
	if family != "" {
		names = append(names, []string{lockFamily, string(tenant), family})
	}
	if session != "" {
		names = append(names, []string{lockSession, string(tenant), session})
	}
	return r.lockAll(ctx, q, names...)
}

// revokeFamily revokes every token of the family not revoked yet.
func revokeFamily(ctx context.Context, q querier, tenant store.TenantID, family string, now time.Time) error {
	for _, table := range []string{"refresh_tokens", "access_tokens"} {
		// table is one of two constants.
		if _, err := q.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $1
WHERE tenant_id = $2 AND family_id = $3 AND revoked_at IS NULL`, now.UnixMicro(), string(tenant), family); err != nil {
			return wrapErr("revoke family", err)
		}
	}
	return addRevocation(ctx, q, tenant, revokedFamily, family, "", now, nil, now.Add(revocationKeep))
}

const accessCols = `tenant_id, id, family_id, client_id, user_id, session_id, scopes, expires_at, revoked_at`

func scanAccess(r scanner) (*store.AccessToken, error) {
	var (
		t              store.AccessToken
		tenant, scopes string
		userID         sql.NullString
		expires        int64
		revoked        sql.NullInt64
	)
	if err := r.Scan(&tenant, &t.ID, &t.FamilyID, &t.ClientID, &userID, &t.SessionID, &scopes, &expires, &revoked); err != nil {
		return nil, err
	}
	t.Tenant, t.UserID = store.TenantID(tenant), userID.String
	if err := parseList(scopes, &t.Scopes); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.RevokedAt = fromMicros(expires), timePtr(revoked)
	return &t, nil
}

// CreateAccessToken inserts t. ErrConflict when the jti is taken in the
// tenant, ErrNotFound when its client or user does not exist there.
func (r tokenRepo) CreateAccessToken(ctx context.Context, t *store.AccessToken) error {
	switch {
	case t.ID == "" || t.Tenant == "" || t.ClientID == "":
		return errors.New("sqlstore: access token needs an id, a tenant and a client")
	case t.ExpiresAt.IsZero():
		return errors.New("sqlstore: access token needs an expiry")
	}
	n := *t
	n.Scopes = normList(n.Scopes)
	n.ExpiresAt, n.RevokedAt = micro(n.ExpiresAt), microPtr(n.RevokedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO access_tokens (`+accessCols+`) VALUES (`+placeholders(0, 9)+`)`,
			string(n.Tenant), n.ID, n.FamilyID, n.ClientID, nullString(n.UserID), n.SessionID, listJSON(n.Scopes),
			n.ExpiresAt.UnixMicro(), nullMicros(n.RevokedAt))
		return wrapErr("create access token", err)
	})
	if err != nil {
		return err
	}
	*t = n
	return nil
}

// GetAccessToken answers the record, revoked or not, but not once it has
// expired.
func (r tokenRepo) GetAccessToken(ctx context.Context, tenant store.TenantID, id string) (*store.AccessToken, error) {
	t, err := scanAccess(r.q.QueryRowContext(ctx, `SELECT `+accessCols+` FROM access_tokens
WHERE tenant_id = $1 AND id = $2 AND expires_at > $3`, string(tenant), id, r.db.nowMicro().UnixMicro()))
	return t, wrapErr("get access token", err)
}

// RevokeAccessToken revokes one access token (again: no change, no error).
func (r tokenRepo) RevokeAccessToken(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1)
WHERE tenant_id = $2 AND id = $3`, r.db.nowMicro().UnixMicro(), string(tenant), id)
		if err != nil {
			return wrapErr("revoke access token", err)
		}
		return oneRow(res, "revoke access token")
	})
}

// RevokeFamily revokes the family under its lock (see RotateRefreshToken).
// An unknown family is no error.
func (r tokenRepo) RevokeFamily(ctx context.Context, tenant store.TenantID, familyID string) error {
	if familyID == "" {
		return errors.New("sqlstore: revoke family: empty family id")
	}
	return r.write(ctx, func(q querier) error {
		if err := r.lockTokens(ctx, q, tenant, familyID, ""); err != nil {
			return err
		}
		return revokeFamily(ctx, q, tenant, familyID, r.db.nowMicro())
	})
}

// RevokeSessionTokens revokes the session's tokens under the session lock
// (see RotateRefreshToken), so a rotation in flight either finishes first,
// and its successor is revoked here, or starts after and finds the old
// token revoked. An unknown session is no error.
func (r tokenRepo) RevokeSessionTokens(ctx context.Context, tenant store.TenantID, sessionID, clientID string) error {
	if sessionID == "" {
		return errors.New("sqlstore: revoke session tokens: empty session id")
	}
	return r.write(ctx, func(q querier) error {
		if err := r.lockTokens(ctx, q, tenant, "", sessionID); err != nil {
			return err
		}
		now := r.db.nowMicro().UnixMicro()
		for _, table := range []string{"refresh_tokens", "access_tokens"} {
			// table is one of two constants.
			var err error
			if clientID == "" {
				_, err = q.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $1
WHERE tenant_id = $2 AND session_id = $3 AND revoked_at IS NULL`, now, string(tenant), sessionID)
			} else {
				_, err = q.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $1
WHERE tenant_id = $2 AND session_id = $3 AND client_id = $4 AND revoked_at IS NULL`, now, string(tenant), sessionID, clientID)
			}
			if err != nil {
				return wrapErr("revoke session tokens", err)
			}
		}
		at := fromMicros(now)
		return addRevocation(ctx, q, tenant, revokedSession, sessionID, clientID, at, nil, at.Add(revocationKeep))
	})
}

// DeleteExpired removes, in every tenant, the authorization requests,
// refresh tokens, access-token records and device codes that expired
// before the given time, in one transaction.
func (r tokenRepo) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := r.write(ctx, func(q querier) error {
		total = 0
		for _, table := range []string{"auth_requests", "refresh_tokens", "access_tokens", "device_codes", "ciba_requests",
			"authorization_details", "token_revocations"} {
			// table is one of these constants.
			res, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at < $1`, before.UnixMicro())
			if err != nil {
				return wrapErr("delete expired "+table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return wrapErr("delete expired "+table, err)
			}
			total += n
		}
		// Ended sessions, and throttle counts idle for a day (their windows
		// are minutes; a jti is remembered for an hour).
		for what, stmt := range map[string]string{
			"sessions": `DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)`,
			"throttle": `DELETE FROM throttle WHERE last_failure < $1 - 86400000000`,
		} {
			res, err := q.ExecContext(ctx, stmt, before.UnixMicro())
			if err != nil {
				return wrapErr("delete expired "+what, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return wrapErr("delete expired "+what, err)
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if r.db.revs != nil {
		r.db.revs.swept(before) // revmemory.go
	}
	return total, nil
}
