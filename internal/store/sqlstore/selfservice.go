package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// selfServiceRepos are the self-service aggregates, bound to the same scope
// (pool or InTx transaction) as the others.
type selfServiceRepos struct{ *scope }

var _ store.SelfServiceRepos = selfServiceRepos{}

func (s *scope) SelfService() store.SelfServiceRepos { return selfServiceRepos{s} }

func (o selfServiceRepos) OneTimeTokens() store.OneTimeTokens { return tokenOTRepo{o.scope} }
func (o selfServiceRepos) MailQueue() store.MailQueue         { return mailRepo{o.scope} }
func (o selfServiceRepos) Acceptances() store.Acceptances     { return acceptanceRepo{o.scope} }

type tokenOTRepo struct{ *scope }

const otCols = `tenant_id, id, purpose, user_id, hash, code_hash, attempts, max_attempts, data, created_at, expires_at, used_at`

func scanOT(r scanner) (*store.OneTimeToken, error) {
	var (
		t                store.OneTimeToken
		tenant           string
		created, expires int64
		used             sql.NullInt64
	)
	if err := r.Scan(&tenant, &t.ID, &t.Purpose, &t.UserID, &t.Hash, &t.CodeHash, &t.Attempts, &t.MaxAttempts,
		&t.Data, &created, &expires, &used); err != nil {
		return nil, err
	}
	t.Tenant, t.CreatedAt, t.ExpiresAt, t.UsedAt = store.TenantID(tenant), fromMicros(created), fromMicros(expires), timePtr(used)
	t.CodeHash = bytesOrNil(t.CodeHash)
	return &t, nil
}

// CreateToken inserts t. ErrNotFound when the user is missing in the
// tenant (foreign key), ErrConflict when the id or hash is taken.
func (r tokenOTRepo) CreateToken(ctx context.Context, t *store.OneTimeToken) error {
	switch {
	case t.ID == "" || t.Tenant == "" || t.UserID == "" || t.Purpose == "":
		return errors.New("sqlstore: token needs an id, a tenant, a user and a purpose")
	case len(t.Hash) == 0 || t.ExpiresAt.IsZero():
		return errors.New("sqlstore: token needs a hash and an expiry")
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO one_time_tokens (`+otCols+`) VALUES (`+placeholders(0, 12)+`)`,
			string(t.Tenant), t.ID, t.Purpose, t.UserID, t.Hash, nullBytes(t.CodeHash), t.Attempts, t.MaxAttempts,
			t.Data, micro(created).UnixMicro(), micro(t.ExpiresAt).UnixMicro(), nullMicros(t.UsedAt))
		return wrapErr("create token", err)
	})
}

// PeekToken reads the live token of (purpose, hash).
func (r tokenOTRepo) PeekToken(ctx context.Context, tenant store.TenantID, purpose string, hash []byte) (*store.OneTimeToken, error) {
	if len(hash) == 0 {
		return nil, notFound("peek token")
	}
	t, err := scanOT(r.q.QueryRowContext(ctx, `SELECT `+otCols+` FROM one_time_tokens
WHERE tenant_id = $1 AND hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4`,
		string(tenant), hash, purpose, r.db.nowMicro().UnixMicro()))
	return t, wrapErr("peek token", err)
}

// ConsumeToken is one conditional UPDATE ... RETURNING: the database
// decides which of two concurrent uses wins.
func (r tokenOTRepo) ConsumeToken(ctx context.Context, tenant store.TenantID, purpose string, hash []byte) (*store.OneTimeToken, error) {
	if len(hash) == 0 {
		return nil, notFound("consume token")
	}
	now := r.db.nowMicro().UnixMicro()
	var out *store.OneTimeToken
	err := r.single(ctx, func(q querier) error {
		t, err := scanOT(q.QueryRowContext(ctx, `UPDATE one_time_tokens SET used_at = $1
WHERE tenant_id = $2 AND hash = $3 AND purpose = $4 AND used_at IS NULL AND expires_at > $1
RETURNING `+otCols, now, string(tenant), hash, purpose))
		out = t
		return wrapErr("consume token", err)
	})
	return out, err
}

// UseCode reads the token under a write lock, counts the attempt and, on
// a match, spends it, in one transaction; the owner is checked first.
func (r tokenOTRepo) UseCode(ctx context.Context, tenant store.TenantID, id, purpose, userID string, match func([]byte) bool) (*store.OneTimeToken, error) {
	const op = "use code"
	now := r.db.nowMicro()
	var (
		out   *store.OneTimeToken
		wrong bool
	)
	err := r.write(ctx, func(q querier) error {
		t, err := scanOT(q.QueryRowContext(ctx, `SELECT `+otCols+` FROM one_time_tokens
WHERE tenant_id = $1 AND id = $2 AND purpose = $3`+r.forUpdate(), string(tenant), id, purpose))
		if err != nil {
			return wrapErr(op, err)
		}
		if t.UsedAt != nil || !t.ExpiresAt.After(now) || len(t.CodeHash) == 0 || t.Attempts >= t.MaxAttempts ||
			(userID != "" && t.UserID != userID) {
			return notFound(op)
		}
		t.Attempts++
		if match(t.CodeHash) {
			t.UsedAt = &now
		} else {
			wrong = true
		}
		_, err = q.ExecContext(ctx, `UPDATE one_time_tokens SET attempts = $1, used_at = $2 WHERE tenant_id = $3 AND id = $4`,
			t.Attempts, nullMicros(t.UsedAt), string(tenant), id)
		out = t
		return wrapErr(op, err)
	})
	switch {
	case err != nil:
		return nil, err
	case wrong:
		return out, store.ErrWrongCode
	}
	return out, nil
}

// RevokeUserTokens spends the user's live tokens of purpose.
func (r tokenOTRepo) RevokeUserTokens(ctx context.Context, tenant store.TenantID, userID, purpose string) error {
	now := r.db.nowMicro().UnixMicro()
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $1
WHERE tenant_id = $2 AND user_id = $3 AND purpose = $4 AND used_at IS NULL`, now, string(tenant), userID, purpose)
		return wrapErr("revoke tokens", err)
	})
}

// HasLiveToken looks for one unused, unexpired token of the user.
func (r tokenOTRepo) HasLiveToken(ctx context.Context, tenant store.TenantID, userID, purpose string) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_tokens
WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4`,
		string(tenant), userID, purpose, r.db.nowMicro().UnixMicro()).Scan(&n)
	return n > 0, wrapErr("has live token", err)
}

// DeleteExpiredTokens removes tokens expired or used before t.
func (r tokenOTRepo) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		b := micro(before).UnixMicro()
		res, err := q.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE expires_at < $1 OR used_at < $1`, b)
		if err != nil {
			return wrapErr("delete expired tokens", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

type acceptanceRepo struct{ *scope }

// RecordAcceptance inserts a, keeping the first record of a version.
func (r acceptanceRepo) RecordAcceptance(ctx context.Context, a *store.Acceptance) error {
	if a.Tenant == "" || a.UserID == "" || a.Document == "" || a.Version == "" {
		return errors.New("sqlstore: acceptance needs a tenant, a user, a document and a version")
	}
	at := a.AcceptedAt
	if at.IsZero() {
		at = r.db.now()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO terms_acceptances (tenant_id, user_id, document, version, accepted_at, ip)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, user_id, document, version) DO NOTHING`,
			string(a.Tenant), a.UserID, a.Document, a.Version, micro(at).UnixMicro(), a.IP)
		return wrapErr("record acceptance", err)
	})
}

// ListAcceptances answers the user's acceptances, oldest first.
func (r acceptanceRepo) ListAcceptances(ctx context.Context, tenant store.TenantID, userID string) ([]store.Acceptance, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT document, version, accepted_at, ip FROM terms_acceptances
WHERE tenant_id = $1 AND user_id = $2 ORDER BY accepted_at, document, version`, string(tenant), userID)
	if err != nil {
		return nil, wrapErr("list acceptances", err)
	}
	defer rows.Close()
	var out []store.Acceptance
	for rows.Next() {
		a := store.Acceptance{Tenant: tenant, UserID: userID}
		var at int64
		if err := rows.Scan(&a.Document, &a.Version, &at, &a.IP); err != nil {
			return nil, wrapErr("list acceptances", err)
		}
		a.AcceptedAt = fromMicros(at)
		out = append(out, a)
	}
	return out, wrapErr("list acceptances", rows.Err())
}
