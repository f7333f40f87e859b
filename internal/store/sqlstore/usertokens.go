package sqlstore

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RevokeUserClientTokens revokes the user's tokens at one client: each
// live refresh family under its family lock (so a rotation in flight is
// revoked too, see RotateRefreshToken), then every access token left.
func (r tokenRepo) RevokeUserClientTokens(ctx context.Context, tenant store.TenantID, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return errors.New("sqlstore: revoke user client tokens: empty user or client")
	}
	return r.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT DISTINCT family_id FROM refresh_tokens
WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3 AND revoked_at IS NULL ORDER BY family_id`,
			string(tenant), userID, clientID)
		if err != nil {
			return wrapErr("revoke user client tokens", err)
		}
		var families []string
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return wrapErr("revoke user client tokens", err)
			}
			families = append(families, f)
		}
		if err := rows.Close(); err != nil {
			return wrapErr("revoke user client tokens", err)
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
WHERE tenant_id = $2 AND user_id = $3 AND client_id = $4 AND revoked_at IS NULL`,
				now.UnixMicro(), string(tenant), userID, clientID); err != nil {
				return wrapErr("revoke user client tokens", err)
			}
		}
		return nil
	})
}
