package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// What a row of token_revocations names (migration 0051).
const (
	revokedJTI     = "jti"
	revokedFamily  = "family"
	revokedSession = "session"
	revokedUser    = "user"
)

// revocationKeep is how long a family, session or user revocation is
// kept: past the longest access-token lifetime every token it can match
// has expired, a token a rotation issues while the revocation commits
// included.
const revocationKeep = store.MaxAccessTokenTTL + time.Minute

// addRevocation records that the JWT access tokens of subject are revoked
// (see the migration for what each kind covers). notAfter, when set,
// limits a user revocation to tokens expiring by then.
func addRevocation(ctx context.Context, q querier, tenant store.TenantID, kind, subject, clientID string,
	now time.Time, notAfter *time.Time, expires time.Time) error {
	var na sql.NullInt64
	if notAfter != nil {
		na = sql.NullInt64{Int64: micro(*notAfter).UnixMicro(), Valid: true}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO token_revocations (tenant_id, kind, subject, client_id, revoked_at, not_after, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, string(tenant), kind, subject, clientID, now.UnixMicro(), na, expires.UnixMicro())
	if err != nil {
		return wrapErr("revoke "+kind, err)
	}
	w, ok := q.(writeQ)
	if !ok {
		return errors.New("sqlstore: revoke " + kind + ": not inside a write")
	}
	row := revRow{Kind: kind, Subject: subject, Client: clientID, Revoked: now.UnixMicro(), Expires: expires.UnixMicro()}
	if na.Valid {
		row.NotAfter = &na.Int64
	}
	return w.changed(ctx, revokedChange(tenant, row)) // revmemory.go
}

// RevokeJWT revokes one JWT access token until it expires; revoking it
// again changes nothing and is no error.
func (r tokenRepo) RevokeJWT(ctx context.Context, tenant store.TenantID, jti string, expiresAt time.Time) error {
	if jti == "" || expiresAt.IsZero() {
		return errors.New("sqlstore: revoke jwt: empty jti or expiry")
	}
	now := r.db.nowMicro()
	if !expiresAt.After(now) {
		return nil // expired already: nothing can use it
	}
	// A write, not a single statement: the NOTIFY that tells the other
	// nodes' memories (revmemory.go) must commit with the row, or a row
	// committed alone would never reach them.
	return r.write(ctx, func(q querier) error {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM token_revocations WHERE tenant_id = $1 AND subject = $2 AND kind = $3`,
			string(tenant), jti, revokedJTI).Scan(&one)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return wrapErr("revoke jwt", err)
		}
		return addRevocation(ctx, q, tenant, revokedJTI, jti, "", now, nil, micro(expiresAt))
	})
}

// AccessTokenRevoked answers from this node's memory of the revocations
// when it may (revmemory.go); otherwise it looks up every revocation that
// names the token's jti, family, session or user (one indexed query) and
// decides in Go which of them cover it.
func (r tokenRepo) AccessTokenRevoked(ctx context.Context, tenant store.TenantID, t store.AccessTokenRef) (bool, error) {
	const op = "access token revoked"
	if t.ID == "" {
		return false, errors.New("sqlstore: access token revoked: empty jti")
	}
	if r.tx == nil && r.db.revs != nil {
		if revoked, ok := r.db.revs.revoked(tenant, t); ok {
			return revoked, nil
		}
	}
	return r.revokedSQL(ctx, tenant, t)
}

func (r tokenRepo) revokedSQL(ctx context.Context, tenant store.TenantID, t store.AccessTokenRef) (bool, error) {
	const op = "access token revoked"
	// "" matches no row: subject is never empty.
	rows, err := r.q.QueryContext(ctx, `SELECT kind, subject, client_id, revoked_at, not_after FROM token_revocations
WHERE tenant_id = $1 AND subject IN ($2, $3, $4, $5)`, string(tenant), t.ID, t.FamilyID, t.SessionID, t.UserID)
	if err != nil {
		return false, wrapErr(op, err)
	}
	defer rows.Close()
	issued, expires := micro(t.IssuedAt).UnixMicro(), micro(t.ExpiresAt).UnixMicro()
	for rows.Next() {
		var (
			row      revRow
			notAfter sql.NullInt64
		)
		if err := rows.Scan(&row.Kind, &row.Subject, &row.Client, &row.Revoked, &notAfter); err != nil {
			return false, wrapErr(op, err)
		}
		if notAfter.Valid {
			row.NotAfter = &notAfter.Int64
		}
		if row.covers(t, issued, expires) {
			return true, nil
		}
	}
	return false, wrapErr(op, rows.Err())
}
