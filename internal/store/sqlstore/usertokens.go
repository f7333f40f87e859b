package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RevokeUserClientTokens revokes the user's tokens at one client (see
// revokeUser).
func (r tokenRepo) RevokeUserClientTokens(ctx context.Context, tenant store.TenantID, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return errors.New("sqlstore: revoke user client tokens: empty user or client")
	}
	return r.revokeUser(ctx, "revoke user client tokens", tenant, userID, clientID)
}

// RevokeUserTokens revokes the user's tokens at every client (see
// revokeUser).
func (r tokenRepo) RevokeUserTokens(ctx context.Context, tenant store.TenantID, userID string) error {
	if userID == "" {
		return errors.New("sqlstore: revoke user tokens: empty user")
	}
	return r.revokeUser(ctx, "revoke user tokens", tenant, userID, "")
}

// revokeUser revokes each live refresh family of the user (at clientID
// only, unless it is "") under its family lock, so a rotation in flight is
// revoked too (see RotateRefreshToken), then every token left.
func (r tokenRepo) revokeUser(ctx context.Context, op string, tenant store.TenantID, userID, clientID string) error {
	// clientID "" matches every client: ($3 = '' OR client_id = $3).
	return r.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT DISTINCT family_id FROM refresh_tokens
WHERE tenant_id = $1 AND user_id = $2 AND ($3 = '' OR client_id = $3) AND revoked_at IS NULL ORDER BY family_id`,
			string(tenant), userID, clientID)
		if err != nil {
			return wrapErr(op, err)
		}
		var families []string
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return wrapErr(op, err)
			}
			families = append(families, f)
		}
		if err := rows.Close(); err != nil {
			return wrapErr(op, err)
		}
		now := r.db.nowMicro()
		for _, f := range families {
			if err := r.lockTokens(ctx, q, tenant, f, ""); err != nil {
				return err
			}
			if err := revokeFamily(ctx, q, tenant, f, now); err != nil {
				return err
			}
		}
		for _, table := range []string{"refresh_tokens", "access_tokens"} {
			// table is one of two constants.
			if _, err := q.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $1
WHERE tenant_id = $2 AND user_id = $3 AND ($4 = '' OR client_id = $4) AND revoked_at IS NULL`,
				now.UnixMicro(), string(tenant), userID, clientID); err != nil {
				return wrapErr(op, err)
			}
		}
		return addRevocation(ctx, q, tenant, revokedUser, userID, clientID, now, nil, now.Add(revocationKeep))
	})
}

// RevokeUserAccessTokens revokes the user's live access tokens that expire
// by notAfter.
func (r tokenRepo) RevokeUserAccessTokens(ctx context.Context, tenant store.TenantID, userID string, notAfter time.Time) error {
	if userID == "" {
		return errors.New("sqlstore: revoke user access tokens: empty user")
	}
	return r.write(ctx, func(q querier) error {
		now := r.db.nowMicro()
		_, err := q.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = $1
WHERE tenant_id = $2 AND user_id = $3 AND expires_at <= $4 AND revoked_at IS NULL`,
			now.UnixMicro(), string(tenant), userID, micro(notAfter).UnixMicro())
		if err != nil {
			return wrapErr("revoke user access tokens", err)
		}
		// Tokens expiring by notAfter were issued within the longest
		// lifetime before it.
		keep := now.Add(revocationKeep)
		if na := micro(notAfter); na.Before(keep) {
			keep = na.Add(time.Minute)
		}
		return addRevocation(ctx, q, tenant, revokedUser, userID, "", now, &notAfter, keep)
	})
}

// ListUserGrants groups the user's refresh tokens by family and keeps the
// families that still have a usable token.
func (r tokenRepo) ListUserGrants(ctx context.Context, tenant store.TenantID, userID string) ([]store.TokenGrant, error) {
	const op = "list user grants"
	rows, err := r.q.QueryContext(ctx, `SELECT family_id, MIN(client_id), MIN(session_id), MIN(kind), MIN(created_at), MAX(created_at)
FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2
GROUP BY family_id
HAVING SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $3 THEN 1 ELSE 0 END) > 0
ORDER BY MIN(created_at), family_id`, string(tenant), userID, r.db.nowMicro().UnixMicro())
	if err != nil {
		return nil, wrapErr(op, err)
	}
	defer rows.Close()
	out := []store.TokenGrant{}
	for rows.Next() {
		var (
			g             store.TokenGrant
			created, used int64
		)
		if err := rows.Scan(&g.ID, &g.ClientID, &g.SessionID, &g.Kind, &created, &used); err != nil {
			return nil, wrapErr(op, err)
		}
		g.CreatedAt, g.LastUsedAt = fromMicros(created), fromMicros(used)
		out = append(out, g)
	}
	return out, wrapErr(op, rows.Err())
}

// RevokeUserGrant revokes one live family of the user under its lock.
func (r tokenRepo) RevokeUserGrant(ctx context.Context, tenant store.TenantID, userID, id string) error {
	const op = "revoke user grant"
	if userID == "" || id == "" {
		return errors.New("sqlstore: revoke user grant: empty user or grant")
	}
	return r.write(ctx, func(q querier) error {
		if err := r.lockTokens(ctx, q, tenant, id, ""); err != nil {
			return err
		}
		now := r.db.nowMicro()
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens
WHERE tenant_id = $1 AND family_id = $2 AND user_id = $3 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $4
LIMIT 1`, string(tenant), id, userID, now.UnixMicro()).Scan(&one)
		if err != nil {
			return wrapErr(op, err)
		}
		return revokeFamily(ctx, q, tenant, id, now)
	})
}
