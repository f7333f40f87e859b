package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type deviceCodeRepo struct{ *scope }

const deviceCodeCols = `tenant_id, device_code_hash, user_code, client_id, scopes, expires_at, state, user_id, session_id,
auth_time, amr, last_poll, done`

// Device authorization states.
const (
	devicePending  = "pending"
	deviceApproved = "approved"
	deviceDenied   = "denied"
)

func scanDeviceCode(r scanner) (*store.DeviceCode, error) {
	var (
		d                   store.DeviceCode
		tenant, scopes, amr string
		userID              sql.NullString
		expires             int64
		authTime, lastPoll  sql.NullInt64
	)
	err := r.Scan(&tenant, &d.DeviceCodeHash, &d.UserCode, &d.ClientID, &scopes, &expires, &d.State, &userID,
		&d.SessionID, &authTime, &amr, &lastPoll, &d.Done)
	if err != nil {
		return nil, err
	}
	d.Tenant, d.UserID = store.TenantID(tenant), userID.String
	if err := parseList(scopes, &d.Scopes); err != nil {
		return nil, err
	}
	if err := parseList(amr, &d.AMR); err != nil {
		return nil, err
	}
	d.ExpiresAt, d.AuthTime, d.LastPoll = fromMicros(expires), timeOrZero(authTime), timePtr(lastPoll)
	return &d, nil
}

func validDeviceCode(d *store.DeviceCode) error {
	switch {
	case d.Tenant == "" || len(d.DeviceCodeHash) == 0 || d.UserCode == "" || d.ClientID == "":
		return errors.New("sqlstore: device code needs a tenant, a device code hash, a user code and a client")
	case d.ExpiresAt.IsZero():
		return errors.New("sqlstore: device code needs an expiry")
	}
	switch d.State {
	case devicePending, deviceApproved, deviceDenied:
		return nil
	}
	return fmt.Errorf("sqlstore: unknown device code state %q", d.State)
}

// normDeviceCode makes d what it reads back as (deep copies included).
func normDeviceCode(d *store.DeviceCode) {
	d.DeviceCodeHash = cloneBytes(d.DeviceCodeHash)
	d.Scopes, d.AMR = normList(d.Scopes), normList(d.AMR)
	d.ExpiresAt, d.AuthTime, d.LastPoll = micro(d.ExpiresAt), microOrZero(d.AuthTime), microPtr(d.LastPoll)
}

// CreateDeviceCode inserts d (State pending when unset). An expired
// authorization no longer holds its user code: it is deleted first, in the
// same transaction. ErrConflict when a live authorization of the tenant
// has the user code (or the device code), ErrNotFound when the client
// does not exist there.
func (r deviceCodeRepo) CreateDeviceCode(ctx context.Context, d *store.DeviceCode) error {
	n := *d
	if n.State == "" {
		n.State = devicePending
	}
	if err := validDeviceCode(&n); err != nil {
		return err
	}
	normDeviceCode(&n)
	err := r.write(ctx, func(q querier) error {
		const op = "create device code"
		if _, err := q.ExecContext(ctx, `DELETE FROM device_codes WHERE tenant_id = $1 AND user_code = $2 AND expires_at <= $3`,
			string(n.Tenant), n.UserCode, r.db.nowMicro().UnixMicro()); err != nil {
			return wrapErr(op, err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO device_codes (`+deviceCodeCols+`) VALUES (`+placeholders(0, 13)+`)`,
			string(n.Tenant), n.DeviceCodeHash, n.UserCode, n.ClientID, listJSON(n.Scopes), n.ExpiresAt.UnixMicro(),
			n.State, nullString(n.UserID), n.SessionID, nullTime(n.AuthTime), listJSON(n.AMR), nullMicros(n.LastPoll), n.Done)
		return wrapErr(op, err)
	})
	if err != nil {
		return err
	}
	*d = n
	return nil
}

// get reads a live (unexpired) authorization by col, one of two constants.
func (r deviceCodeRepo) get(ctx context.Context, q querier, op, col, lock string, tenant store.TenantID, v any) (*store.DeviceCode, error) {
	d, err := scanDeviceCode(q.QueryRowContext(ctx, `SELECT `+deviceCodeCols+` FROM device_codes
WHERE tenant_id = $1 AND `+col+` = $2 AND expires_at > $3`+lock, string(tenant), v, r.db.nowMicro().UnixMicro()))
	return d, wrapErr(op, err)
}

func (r deviceCodeRepo) GetByDeviceCode(ctx context.Context, tenant store.TenantID, deviceCodeHash []byte) (*store.DeviceCode, error) {
	return r.get(ctx, r.q, "get device code", "device_code_hash", "", tenant, deviceCodeHash)
}

func (r deviceCodeRepo) GetByUserCode(ctx context.Context, tenant store.TenantID, userCode string) (*store.DeviceCode, error) {
	return r.get(ctx, r.q, "get device code by user code", "user_code", "", tenant, userCode)
}

// UpdateDeviceCode is the closure update of doc.go (no version); like the
// getters it answers ErrNotFound once the authorization has expired. The
// row is held while fn runs, so "poll, see approved, mark Done" happens
// once however many polls race.
func (r deviceCodeRepo) UpdateDeviceCode(ctx context.Context, tenant store.TenantID, deviceCodeHash []byte, fn func(*store.DeviceCode) error) (*store.DeviceCode, error) {
	const op = "update device code"
	var out *store.DeviceCode
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, op, "device_code_hash", r.forUpdate(), tenant, deviceCodeHash)
		if err != nil {
			return err
		}
		n := *old
		normDeviceCode(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.Tenant != old.Tenant || string(n.DeviceCodeHash) != string(old.DeviceCodeHash) {
			return errors.New("sqlstore: update device code: the closure changed the tenant or device code")
		}
		if err := validDeviceCode(&n); err != nil {
			return err
		}
		normDeviceCode(&n)
		res, err := q.ExecContext(ctx, `UPDATE device_codes SET user_code = $1, client_id = $2, scopes = $3, expires_at = $4,
state = $5, user_id = $6, session_id = $7, auth_time = $8, amr = $9, last_poll = $10, done = $11
WHERE tenant_id = $12 AND device_code_hash = $13`,
			n.UserCode, n.ClientID, listJSON(n.Scopes), n.ExpiresAt.UnixMicro(), n.State, nullString(n.UserID),
			n.SessionID, nullTime(n.AuthTime), listJSON(n.AMR), nullMicros(n.LastPoll), n.Done,
			string(n.Tenant), n.DeviceCodeHash)
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
