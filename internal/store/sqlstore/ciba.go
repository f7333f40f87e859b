package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type cibaRepo struct{ *scope }

const cibaCols = `tenant_id, id, auth_req_hash, approval_hash, client_id, user_id, scopes, acr_values, binding_message,
notification_token, state, session_id, auth_time, amr, last_poll, done, created_at, expires_at`

func scanCIBA(r scanner) (*store.CIBARequest, error) {
	var (
		c                        store.CIBARequest
		tenant, scopes, acr, amr string
		userID                   sql.NullString
		created, expires         int64
		authTime, lastPoll       sql.NullInt64
	)
	err := r.Scan(&tenant, &c.ID, &c.AuthReqHash, &c.ApprovalHash, &c.ClientID, &userID, &scopes, &acr, &c.BindingMessage,
		&c.NotificationToken, &c.State, &c.SessionID, &authTime, &amr, &lastPoll, &c.Done, &created, &expires)
	if err != nil {
		return nil, err
	}
	c.Tenant, c.UserID = store.TenantID(tenant), userID.String
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{scopes, &c.Scopes}, {acr, &c.ACRValues}, {amr, &c.AMR}} {
		if err := parseList(l.raw, l.dst); err != nil {
			return nil, err
		}
	}
	if len(c.NotificationToken) == 0 {
		c.NotificationToken = nil
	}
	c.CreatedAt, c.ExpiresAt, c.AuthTime, c.LastPoll = fromMicros(created), fromMicros(expires), timeOrZero(authTime), timePtr(lastPoll)
	return &c, nil
}

func validCIBA(c *store.CIBARequest) error {
	switch {
	case c.Tenant == "" || c.ID == "" || len(c.AuthReqHash) == 0 || len(c.ApprovalHash) == 0 || c.ClientID == "":
		return errors.New("sqlstore: CIBA request needs a tenant, an id, both hashes and a client")
	case c.ExpiresAt.IsZero() || c.CreatedAt.IsZero():
		return errors.New("sqlstore: CIBA request needs its creation and expiry times")
	}
	switch c.State {
	case devicePending, deviceApproved, deviceDenied:
		return nil
	}
	return fmt.Errorf("sqlstore: unknown CIBA request state %q", c.State)
}

// normCIBA makes c what it reads back as (deep copies included).
func normCIBA(c *store.CIBARequest) {
	c.AuthReqHash, c.ApprovalHash, c.NotificationToken = cloneBytes(c.AuthReqHash), cloneBytes(c.ApprovalHash), cloneBytes(c.NotificationToken)
	if len(c.NotificationToken) == 0 {
		c.NotificationToken = nil
	}
	c.Scopes, c.ACRValues, c.AMR = normList(c.Scopes), normList(c.ACRValues), normList(c.AMR)
	c.CreatedAt, c.ExpiresAt, c.AuthTime, c.LastPoll = micro(c.CreatedAt), micro(c.ExpiresAt), microOrZero(c.AuthTime), microPtr(c.LastPoll)
}

// CreateCIBARequest inserts c (State pending when unset). ErrConflict when
// the id or a hash is taken in the tenant, ErrNotFound when the client or
// the user does not exist there.
func (r cibaRepo) CreateCIBARequest(ctx context.Context, c *store.CIBARequest) error {
	n := *c
	if n.State == "" {
		n.State = devicePending
	}
	if err := validCIBA(&n); err != nil {
		return err
	}
	normCIBA(&n)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ciba_requests (`+cibaCols+`) VALUES (`+placeholders(0, 18)+`)`,
			string(n.Tenant), n.ID, n.AuthReqHash, n.ApprovalHash, n.ClientID, nullString(n.UserID), listJSON(n.Scopes),
			listJSON(n.ACRValues), n.BindingMessage, nullBytes(n.NotificationToken), n.State, n.SessionID,
			nullTime(n.AuthTime), listJSON(n.AMR), nullMicros(n.LastPoll), n.Done, n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro())
		return wrapErr("create CIBA request", err)
	})
	if err != nil {
		return err
	}
	*c = n
	return nil
}

// get reads a live (unexpired) request by col, one of three constants.
func (r cibaRepo) get(ctx context.Context, q querier, op, col, lock string, tenant store.TenantID, v any) (*store.CIBARequest, error) {
	c, err := scanCIBA(q.QueryRowContext(ctx, `SELECT `+cibaCols+` FROM ciba_requests
WHERE tenant_id = $1 AND `+col+` = $2 AND expires_at > $3`+lock, string(tenant), v, r.db.nowMicro().UnixMicro()))
	return c, wrapErr(op, err)
}

func (r cibaRepo) GetCIBARequest(ctx context.Context, tenant store.TenantID, id string) (*store.CIBARequest, error) {
	return r.get(ctx, r.q, "get CIBA request", "id", "", tenant, id)
}

func (r cibaRepo) GetCIBAByAuthReq(ctx context.Context, tenant store.TenantID, hash []byte) (*store.CIBARequest, error) {
	return r.get(ctx, r.q, "get CIBA request by auth_req_id", "auth_req_hash", "", tenant, hash)
}

func (r cibaRepo) GetCIBAByApproval(ctx context.Context, tenant store.TenantID, hash []byte) (*store.CIBARequest, error) {
	return r.get(ctx, r.q, "get CIBA request by approval", "approval_hash", "", tenant, hash)
}

// UpdateCIBARequest is the closure update of doc.go (no version), holding
// the row while fn runs; the id, tenant, hashes, client and creation time
// cannot change.
func (r cibaRepo) UpdateCIBARequest(ctx context.Context, tenant store.TenantID, id string, fn func(*store.CIBARequest) error) (*store.CIBARequest, error) {
	const op = "update CIBA request"
	var out *store.CIBARequest
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, op, "id", r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normCIBA(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.Tenant != old.Tenant || n.ID != old.ID || string(n.AuthReqHash) != string(old.AuthReqHash) ||
			string(n.ApprovalHash) != string(old.ApprovalHash) || n.ClientID != old.ClientID || !n.CreatedAt.Equal(old.CreatedAt) {
			return errors.New("sqlstore: update CIBA request: the closure changed what identifies it")
		}
		if err := validCIBA(&n); err != nil {
			return err
		}
		normCIBA(&n)
		res, err := q.ExecContext(ctx, `UPDATE ciba_requests SET user_id = $1, scopes = $2, acr_values = $3, binding_message = $4,
notification_token = $5, state = $6, session_id = $7, auth_time = $8, amr = $9, last_poll = $10, done = $11, expires_at = $12
WHERE tenant_id = $13 AND id = $14`,
			nullString(n.UserID), listJSON(n.Scopes), listJSON(n.ACRValues), n.BindingMessage, nullBytes(n.NotificationToken),
			n.State, n.SessionID, nullTime(n.AuthTime), listJSON(n.AMR), nullMicros(n.LastPoll), n.Done, n.ExpiresAt.UnixMicro(),
			string(n.Tenant), n.ID)
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
