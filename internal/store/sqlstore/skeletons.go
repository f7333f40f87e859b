package sqlstore

import (
	"context"
	"database/sql"

	"github.com/gatehouse-id/gatehouse/internal/ident"
)

// skeletonBatch is how many users one backfill transaction fills in.
const skeletonBatch = 500

// backfillSkeletons fills email_skel and username_skel of users written
// before the columns existed (migration 0015), a batch per transaction
// until none is left. Every write since derives them itself, so this is a
// no-op once done; two nodes doing it at once write the same values.
func (d *DB) backfillSkeletons(ctx context.Context) error {
	for {
		var n int
		err := d.runTx(ctx, func(tx *sql.Tx) error {
			type row struct {
				tenant, id, email string
				username          sql.NullString
			}
			rs, err := tx.QueryContext(ctx, `SELECT tenant_id, id, email, username FROM users
WHERE email_skel IS NULL ORDER BY tenant_id, id LIMIT $1`, skeletonBatch)
			if err != nil {
				return wrapErr("backfill skeletons", err)
			}
			var batch []row
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.tenant, &r.id, &r.email, &r.username); err != nil {
					rs.Close()
					return wrapErr("backfill skeletons", err)
				}
				batch = append(batch, r)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return wrapErr("backfill skeletons", err)
			}
			for _, r := range batch {
				if _, err := tx.ExecContext(ctx, `UPDATE users SET email_skel = $3, username_skel = $4 WHERE tenant_id = $1 AND id = $2`,
					r.tenant, r.id, ident.Skeleton(r.email), usernameSkel(r.username.String)); err != nil {
					return wrapErr("backfill skeletons", err)
				}
			}
			n = len(batch)
			return nil
		})
		if err != nil || n < skeletonBatch {
			return err
		}
	}
}
