package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type authRequestRepo struct{ *scope }

const authRequestCols = `tenant_id, id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode,
code_challenge, code_challenge_method, prompt, max_age, login_hint, ui_locales, acr_values, user_id, session_id,
auth_time, amr, done, code_hash, code_used, created_at, expires_at, source, dpop_jkt`

func scanAuthRequest(r scanner) (*store.AuthRequest, error) {
	var (
		a                                    store.AuthRequest
		tenant, scopes, prompt, locales, acr string
		amr                                  string
		userID                               sql.NullString
		maxAge, authTime                     sql.NullInt64
		created, expires                     int64
	)
	err := r.Scan(&tenant, &a.ID, &a.ClientID, &a.RedirectURI, &scopes, &a.State, &a.Nonce, &a.ResponseType,
		&a.ResponseMode, &a.CodeChallenge, &a.CodeChallengeMethod, &prompt, &maxAge, &a.LoginHint, &locales, &acr,
		&userID, &a.SessionID, &authTime, &amr, &a.Done, &a.CodeHash, &a.CodeUsed, &created, &expires, &a.Source, &a.DPoPJKT)
	if err != nil {
		return nil, err
	}
	a.Tenant, a.UserID = store.TenantID(tenant), userID.String
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{scopes, &a.Scopes}, {prompt, &a.Prompt}, {locales, &a.UILocales}, {acr, &a.ACRValues}, {amr, &a.AMR}} {
		if err := parseList(l.raw, l.dst); err != nil {
			return nil, err
		}
	}
	if maxAge.Valid {
		d := fromDurMicros(maxAge.Int64)
		a.MaxAge = &d
	}
	a.AuthTime, a.CreatedAt, a.ExpiresAt = timeOrZero(authTime), fromMicros(created), fromMicros(expires)
	return &a, nil
}

func validAuthRequest(a *store.AuthRequest) error {
	switch {
	case a.ID == "" || a.Tenant == "" || a.ClientID == "":
		return errors.New("sqlstore: authorization request needs an id, a tenant and a client")
	case a.ExpiresAt.IsZero():
		return errors.New("sqlstore: authorization request needs an expiry")
	case len(a.Source) > 64:
		return errors.New("sqlstore: authorization request source longer than 64 bytes")
	case len(a.DPoPJKT) > 128:
		return errors.New("sqlstore: authorization request dpop_jkt longer than 128 bytes")
	}
	return nil
}

// normAuthRequest makes a what it reads back as (deep copies included).
func normAuthRequest(a *store.AuthRequest) {
	a.Scopes, a.Prompt, a.UILocales, a.ACRValues, a.AMR = normList(a.Scopes), normList(a.Prompt),
		normList(a.UILocales), normList(a.ACRValues), normList(a.AMR)
	if a.MaxAge != nil {
		d := microDur(*a.MaxAge)
		a.MaxAge = &d
	}
	a.CodeHash = bytesOrNil(a.CodeHash)
	a.AuthTime, a.CreatedAt, a.ExpiresAt = microOrZero(a.AuthTime), micro(a.CreatedAt), micro(a.ExpiresAt)
}

func nullDur(d *time.Duration) sql.NullInt64 {
	if d == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: durMicros(*d), Valid: true}
}

// CreateAuthRequest inserts a (CreatedAt now when unset). ErrConflict when
// the id or code is taken, ErrNotFound when the client (or the user, when
// set) does not exist in the tenant.
func (r authRequestRepo) CreateAuthRequest(ctx context.Context, a *store.AuthRequest) error {
	if err := validAuthRequest(a); err != nil {
		return err
	}
	n := *a
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	normAuthRequest(&n)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO auth_requests (`+authRequestCols+`) VALUES (`+placeholders(0, 27)+`)`,
			string(n.Tenant), n.ID, n.ClientID, n.RedirectURI, listJSON(n.Scopes), n.State, n.Nonce, n.ResponseType,
			n.ResponseMode, n.CodeChallenge, n.CodeChallengeMethod, listJSON(n.Prompt), nullDur(n.MaxAge), n.LoginHint,
			listJSON(n.UILocales), listJSON(n.ACRValues), nullString(n.UserID), n.SessionID, nullTime(n.AuthTime),
			listJSON(n.AMR), n.Done, nullBytes(n.CodeHash), n.CodeUsed, n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro(), n.Source, n.DPoPJKT)
		return wrapErr("create authorization request", err)
	})
	if err != nil {
		return err
	}
	*a = n
	return nil
}

// get reads a live (unexpired) request.
func (r authRequestRepo) get(ctx context.Context, q querier, op, lock string, tenant store.TenantID, id string) (*store.AuthRequest, error) {
	a, err := scanAuthRequest(q.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM auth_requests
WHERE tenant_id = $1 AND id = $2 AND expires_at > $3`+lock, string(tenant), id, r.db.nowMicro().UnixMicro()))
	return a, wrapErr(op, err)
}

func (r authRequestRepo) GetAuthRequest(ctx context.Context, tenant store.TenantID, id string) (*store.AuthRequest, error) {
	return r.get(ctx, r.q, "get authorization request", "", tenant, id)
}

// UpdateAuthRequest is the closure update of doc.go; like GetAuthRequest
// it answers ErrNotFound once the request has expired.
func (r authRequestRepo) UpdateAuthRequest(ctx context.Context, tenant store.TenantID, id string, fn func(*store.AuthRequest) error) (*store.AuthRequest, error) {
	const op = "update authorization request"
	var out *store.AuthRequest
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, op, r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normAuthRequest(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update authorization request: the closure changed the id or tenant")
		}
		if err := validAuthRequest(&n); err != nil {
			return err
		}
		n.CreatedAt, n.Source = old.CreatedAt, old.Source
		normAuthRequest(&n)
		res, err := q.ExecContext(ctx, `UPDATE auth_requests SET client_id = $1, redirect_uri = $2, scopes = $3, state = $4,
nonce = $5, response_type = $6, response_mode = $7, code_challenge = $8, code_challenge_method = $9, prompt = $10,
max_age = $11, login_hint = $12, ui_locales = $13, acr_values = $14, user_id = $15, session_id = $16, auth_time = $17,
amr = $18, done = $19, code_hash = $20, code_used = $21, expires_at = $22
WHERE tenant_id = $23 AND id = $24`,
			n.ClientID, n.RedirectURI, listJSON(n.Scopes), n.State, n.Nonce, n.ResponseType, n.ResponseMode,
			n.CodeChallenge, n.CodeChallengeMethod, listJSON(n.Prompt), nullDur(n.MaxAge), n.LoginHint,
			listJSON(n.UILocales), listJSON(n.ACRValues), nullString(n.UserID), n.SessionID, nullTime(n.AuthTime),
			listJSON(n.AMR), n.Done, nullBytes(n.CodeHash), n.CodeUsed, n.ExpiresAt.UnixMicro(),
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

// CountPendingAuthRequests counts live, unfinished requests from source
// (the auth_requests_source index).
func (r authRequestRepo) CountPendingAuthRequests(ctx context.Context, tenant store.TenantID, source string, now time.Time) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM auth_requests
WHERE tenant_id = $1 AND source = $2 AND expires_at > $3 AND NOT done AND source <> ''`,
		string(tenant), source, micro(now).UnixMicro()).Scan(&n)
	return n, wrapErr("count pending authorization requests", err)
}

// DeleteAuthRequest deletes the request, expired or not.
func (r authRequestRepo) DeleteAuthRequest(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM auth_requests WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete authorization request", err)
		}
		return oneRow(res, "delete authorization request")
	})
}

// ConsumeCode claims the code with one conditional UPDATE: it matches only
// while code_used is false, and the database lets one statement at a time
// change the row (PostgreSQL makes a concurrent UPDATE wait for the row
// lock and then re-check its WHERE clause against the committed row;
// SQLite runs writers one at a time). So exactly one caller gets a row
// back. Everyone else reads the row to tell a used code (ErrConflict, with
// the request) from an unknown or expired one (ErrNotFound).
func (r authRequestRepo) ConsumeCode(ctx context.Context, tenant store.TenantID, codeHash []byte) (*store.AuthRequest, error) {
	const op = "consume code"
	if len(codeHash) == 0 {
		return nil, notFound(op)
	}
	now := r.db.nowMicro().UnixMicro()
	var won *store.AuthRequest
	err := r.single(ctx, func(q querier) error {
		a, err := scanAuthRequest(q.QueryRowContext(ctx, `UPDATE auth_requests SET code_used = TRUE
WHERE tenant_id = $1 AND code_hash = $2 AND code_used = FALSE AND expires_at > $3
RETURNING `+authRequestCols, string(tenant), codeHash, now))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		won = a
		return wrapErr(op, err)
	})
	if err != nil {
		return nil, err
	}
	if won != nil {
		return won, nil
	}
	a, err := scanAuthRequest(r.q.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM auth_requests
WHERE tenant_id = $1 AND code_hash = $2 AND code_used = TRUE AND expires_at > $3`, string(tenant), codeHash, now))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return a, fmt.Errorf("sqlstore: %s: the code was used before: %w", op, store.ErrConflict)
}
