package sqlstore

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ForgetDevice deletes one device of the user; ErrNotFound when the user
// has none of that id.
func (r recognitionRepo) ForgetDevice(ctx context.Context, tenant store.TenantID, userID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM known_devices WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
			string(tenant), userID, id)
		if err != nil {
			return wrapErr("forget known device", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(wrapErr("forget known device", err), notFound("forget known device"))
		}
		return nil
	})
}
