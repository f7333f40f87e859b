package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type loginRepo struct{ *scope }

var _ store.LoginRequests = loginRepo{}

func (s *scope) Logins() store.LoginRequests { return loginRepo{s} }

const loginCols = `tenant_id, id, origin, return_ref, client_id, sp_id, return_uri, scopes, prompt, max_age,
login_hint, ui_locales, acr_values, user_id, session_id, auth_time, amr, done, created_at, expires_at`

func scanLogin(r scanner) (*store.LoginRequest, error) {
	var (
		l                                    store.LoginRequest
		tenant, scopes, prompt, locales, acr string
		amr                                  string
		userID                               sql.NullString
		maxAge, authTime                     sql.NullInt64
		created, expires                     int64
	)
	err := r.Scan(&tenant, &l.ID, &l.Origin, &l.Return, &l.ClientID, &l.SPID, &l.ReturnURI, &scopes, &prompt,
		&maxAge, &l.LoginHint, &locales, &acr, &userID, &l.SessionID, &authTime, &amr, &l.Done, &created, &expires)
	if err != nil {
		return nil, err
	}
	l.Tenant, l.UserID = store.TenantID(tenant), userID.String
	for _, x := range []struct {
		raw string
		dst *[]string
	}{{scopes, &l.Scopes}, {prompt, &l.Prompt}, {locales, &l.UILocales}, {acr, &l.ACRValues}, {amr, &l.AMR}} {
		if err := parseList(x.raw, x.dst); err != nil {
			return nil, err
		}
	}
	if maxAge.Valid {
		d := fromDurMicros(maxAge.Int64)
		l.MaxAge = &d
	}
	l.AuthTime, l.CreatedAt, l.ExpiresAt = timeOrZero(authTime), fromMicros(created), fromMicros(expires)
	return &l, nil
}

func validLogin(l *store.LoginRequest) error {
	switch {
	case l.ID == "" || l.Tenant == "" || l.Origin == "":
		return errors.New("sqlstore: login request needs an id, a tenant and an origin")
	case l.ExpiresAt.IsZero():
		return errors.New("sqlstore: login request needs an expiry")
	}
	return nil
}

// normLogin makes l what it reads back as (deep copies included).
func normLogin(l *store.LoginRequest) {
	l.Scopes, l.Prompt, l.UILocales, l.ACRValues, l.AMR = normList(l.Scopes), normList(l.Prompt),
		normList(l.UILocales), normList(l.ACRValues), normList(l.AMR)
	if l.MaxAge != nil {
		d := microDur(*l.MaxAge)
		l.MaxAge = &d
	}
	l.AuthTime, l.CreatedAt, l.ExpiresAt = microOrZero(l.AuthTime), micro(l.CreatedAt), micro(l.ExpiresAt)
}

func loginArgs(n *store.LoginRequest) []any {
	return []any{n.Origin, n.Return, n.ClientID, n.SPID, n.ReturnURI, listJSON(n.Scopes), listJSON(n.Prompt),
		nullDur(n.MaxAge), n.LoginHint, listJSON(n.UILocales), listJSON(n.ACRValues), nullString(n.UserID),
		n.SessionID, nullTime(n.AuthTime), listJSON(n.AMR), n.Done}
}

// CreateLoginRequest inserts l (CreatedAt now when unset). ErrConflict
// when the id is taken, ErrNotFound when the tenant (or the user, when
// set) does not exist.
func (r loginRepo) CreateLoginRequest(ctx context.Context, l *store.LoginRequest) error {
	if err := validLogin(l); err != nil {
		return err
	}
	n := *l
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	normLogin(&n)
	args := append([]any{string(n.Tenant), n.ID}, loginArgs(&n)...)
	args = append(args, n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro())
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO login_requests (`+loginCols+`) VALUES (`+placeholders(0, 20)+`)`, args...)
		return wrapErr("create login request", err)
	})
	if err != nil {
		return err
	}
	*l = n
	return nil
}

func (r loginRepo) get(ctx context.Context, q querier, op, lock string, tenant store.TenantID, id string) (*store.LoginRequest, error) {
	l, err := scanLogin(q.QueryRowContext(ctx, `SELECT `+loginCols+` FROM login_requests
WHERE tenant_id = $1 AND id = $2 AND expires_at > $3`+lock, string(tenant), id, r.db.nowMicro().UnixMicro()))
	return l, wrapErr(op, err)
}

func (r loginRepo) GetLoginRequest(ctx context.Context, tenant store.TenantID, id string) (*store.LoginRequest, error) {
	return r.get(ctx, r.q, "get login request", "", tenant, id)
}

// UpdateLoginRequest is the closure update of doc.go.
func (r loginRepo) UpdateLoginRequest(ctx context.Context, tenant store.TenantID, id string, fn func(*store.LoginRequest) error) (*store.LoginRequest, error) {
	const op = "update login request"
	var out *store.LoginRequest
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, op, r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normLogin(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update login request: the closure changed the id or tenant")
		}
		if err := validLogin(&n); err != nil {
			return err
		}
		n.CreatedAt = old.CreatedAt
		normLogin(&n)
		args := append(loginArgs(&n), n.ExpiresAt.UnixMicro(), string(n.Tenant), n.ID)
		res, err := q.ExecContext(ctx, `UPDATE login_requests SET origin = $1, return_ref = $2, client_id = $3,
sp_id = $4, return_uri = $5, scopes = $6, prompt = $7, max_age = $8, login_hint = $9, ui_locales = $10,
acr_values = $11, user_id = $12, session_id = $13, auth_time = $14, amr = $15, done = $16, expires_at = $17
WHERE tenant_id = $18 AND id = $19`, args...)
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

// ConsumeLoginRequest is one conditional DELETE ... RETURNING: only one
// caller gets the row.
func (r loginRepo) ConsumeLoginRequest(ctx context.Context, tenant store.TenantID, id, sessionID string) (*store.LoginRequest, error) {
	const op = "consume login request"
	if sessionID == "" {
		return nil, notFound(op)
	}
	var out *store.LoginRequest
	err := r.single(ctx, func(q querier) error {
		l, err := scanLogin(q.QueryRowContext(ctx, `DELETE FROM login_requests
WHERE tenant_id = $1 AND id = $2 AND session_id = $3 AND done = TRUE AND expires_at > $4
RETURNING `+loginCols, string(tenant), id, sessionID, r.db.nowMicro().UnixMicro()))
		out = l
		return wrapErr(op, err)
	})
	return out, err
}

// DeleteLoginRequest deletes the request, expired or not.
func (r loginRepo) DeleteLoginRequest(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM login_requests WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete login request", err)
		}
		return oneRow(res, "delete login request")
	})
}

// DeleteExpiredLoginRequests removes, in every tenant, the requests that
// expired before the given time.
func (r loginRepo) DeleteExpiredLoginRequests(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM login_requests WHERE expires_at < $1`, before.UnixMicro())
		if err != nil {
			return wrapErr("delete expired login requests", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return wrapErr("delete expired login requests", err)
		}
		return nil
	})
	return n, err
}
