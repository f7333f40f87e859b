package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxDevicesPerUser bounds a user's known devices: signing in from a new
// browser beyond it forgets the one seen longest ago.
const maxDevicesPerUser = 20

type recognitionRepo struct{ *scope }

var _ store.Recognition = recognitionRepo{}

// PutDevice upserts d in one statement; a conflicting id of another user
// updates nothing and answers ErrConflict. It then trims the user's
// devices to the newest maxDevicesPerUser, in the same transaction.
func (r recognitionRepo) PutDevice(ctx context.Context, d *store.KnownDevice) error {
	switch {
	case d.Tenant == "" || d.ID == "" || d.UserID == "" || len(d.ID) > 64:
		return errors.New("sqlstore: known device needs a tenant, a user and an id of at most 64 bytes")
	case !d.ExpiresAt.After(d.LastSeenAt):
		return errors.New("sqlstore: known device must expire after it was seen")
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = d.LastSeenAt
	}
	d.CreatedAt, d.LastSeenAt, d.ExpiresAt = micro(d.CreatedAt), micro(d.LastSeenAt), micro(d.ExpiresAt)
	return r.write(ctx, func(q querier) error {
		var id string
		err := q.QueryRowContext(ctx, `INSERT INTO known_devices (tenant_id, id, user_id, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id, id) DO UPDATE SET last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at
WHERE known_devices.user_id = excluded.user_id
RETURNING id`, string(d.Tenant), d.ID, d.UserID, d.CreatedAt.UnixMicro(), d.LastSeenAt.UnixMicro(), d.ExpiresAt.UnixMicro()).Scan(&id)
		if err = wrapErr("put known device", err); errors.Is(err, store.ErrNotFound) {
			return errors.Join(errors.New("sqlstore: put known device: id belongs to another user"), store.ErrConflict)
		} else if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM known_devices WHERE tenant_id = $1 AND user_id = $2 AND id NOT IN (
    SELECT id FROM known_devices WHERE tenant_id = $1 AND user_id = $2 ORDER BY last_seen_at DESC, id DESC LIMIT $3)`,
			string(d.Tenant), d.UserID, maxDevicesPerUser)
		return wrapErr("trim known devices", err)
	})
}

const deviceCols = `tenant_id, id, user_id, created_at, last_seen_at, expires_at`

func scanDevice(r scanner) (*store.KnownDevice, error) {
	var (
		d                      store.KnownDevice
		tenant                 string
		created, seen, expires int64
	)
	if err := r.Scan(&tenant, &d.ID, &d.UserID, &created, &seen, &expires); err != nil {
		return nil, err
	}
	d.Tenant, d.CreatedAt, d.LastSeenAt, d.ExpiresAt = store.TenantID(tenant), fromMicros(created), fromMicros(seen), fromMicros(expires)
	return &d, nil
}

// GetDevice answers a device that has not expired at now.
func (r recognitionRepo) GetDevice(ctx context.Context, tenant store.TenantID, id string, now time.Time) (*store.KnownDevice, error) {
	d, err := scanDevice(r.q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM known_devices
WHERE tenant_id = $1 AND id = $2 AND expires_at > $3`, string(tenant), id, micro(now).UnixMicro()))
	return d, wrapErr("get known device", err)
}

// ListDevices answers the user's live devices, most recently seen first.
func (r recognitionRepo) ListDevices(ctx context.Context, tenant store.TenantID, userID string, now time.Time) ([]store.KnownDevice, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+deviceCols+` FROM known_devices
WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 ORDER BY last_seen_at DESC, id DESC`,
		string(tenant), userID, micro(now).UnixMicro())
	if err != nil {
		return nil, wrapErr("list known devices", err)
	}
	defer rows.Close()
	var out []store.KnownDevice
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, wrapErr("list known devices", err)
		}
		out = append(out, *d)
	}
	return out, wrapErr("list known devices", rows.Err())
}

// TouchNetwork upserts (user, network) with last_seen_at moved forward
// only: a node with a lagging clock cannot age a network.
func (r recognitionRepo) TouchNetwork(ctx context.Context, tenant store.TenantID, userID, network string, now time.Time) error {
	if tenant == "" || userID == "" || network == "" || len(network) > 64 {
		return errors.New("sqlstore: known network needs a tenant, a user and a network of at most 64 bytes")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO known_networks (tenant_id, user_id, network, last_seen_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, user_id, network) DO UPDATE SET
    last_seen_at = CASE WHEN known_networks.last_seen_at < excluded.last_seen_at THEN excluded.last_seen_at ELSE known_networks.last_seen_at END`,
			string(tenant), userID, network, micro(now).UnixMicro())
		return wrapErr("touch known network", err)
	})
}

// KnownNetwork reports a sign-in of the user from network at or after since.
func (r recognitionRepo) KnownNetwork(ctx context.Context, tenant store.TenantID, userID, network string, since time.Time) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM known_networks
WHERE tenant_id = $1 AND user_id = $2 AND network = $3 AND last_seen_at >= $4`,
		string(tenant), userID, network, micro(since).UnixMicro()).Scan(&n)
	return n > 0, wrapErr("known network", err)
}

// Forget deletes the user's devices and networks in one transaction.
func (r recognitionRepo) Forget(ctx context.Context, tenant store.TenantID, userID string) error {
	return r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM known_devices WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID); err != nil {
			return wrapErr("forget known devices", err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM known_networks WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
		return wrapErr("forget known networks", err)
	})
}
