package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mfaRepos are the multi-factor aggregates, bound to the same scope as the
// others.
type mfaRepos struct{ *scope }

var _ store.MFARepos = mfaRepos{}

func (s *scope) MFA() store.MFARepos { return mfaRepos{s} }

func (m mfaRepos) Factors() store.Factors             { return factorRepo{m.scope} }
func (m mfaRepos) RecoveryCodes() store.RecoveryCodes { return recoveryRepo{m.scope} }
func (m mfaRepos) Ceremonies() store.Ceremonies       { return ceremonyRepo{m.scope} }

type factorRepo struct{ *scope }

const factorCols = `tenant_id, id, user_id, kind, name, secret, credential_id, confirmed, last_step, sign_count, created_at, last_used_at`

func scanFactor(r scanner) (*store.Factor, error) {
	var (
		f         store.Factor
		tenant    string
		confirmed int
		created   int64
		used      sql.NullInt64
	)
	if err := r.Scan(&tenant, &f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &f.CredentialID, &confirmed,
		&f.LastStep, &f.SignCount, &created, &used); err != nil {
		return nil, err
	}
	f.Tenant, f.Confirmed, f.CreatedAt, f.LastUsedAt = store.TenantID(tenant), confirmed != 0, fromMicros(created), timePtr(used)
	f.Secret, f.CredentialID = bytesOrNil(f.Secret), bytesOrNil(f.CredentialID)
	return &f, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func validFactor(f *store.Factor) error {
	switch {
	case f.ID == "" || f.Tenant == "" || f.UserID == "":
		return errors.New("sqlstore: factor needs an id, a tenant and a user")
	case f.Kind != store.FactorTOTP && f.Kind != store.FactorWebAuthn && f.Kind != store.FactorEmail:
		return errors.New("sqlstore: factor kind unknown")
	case len(f.Name) > 100:
		return errors.New("sqlstore: factor name longer than 100 bytes")
	}
	return nil
}

// CreateFactor inserts f.
func (r factorRepo) CreateFactor(ctx context.Context, f *store.Factor) error {
	if err := validFactor(f); err != nil {
		return err
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = r.db.now()
	}
	f.CreatedAt = micro(f.CreatedAt)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO mfa_factors (`+factorCols+`) VALUES (`+placeholders(0, 12)+`)`,
			string(f.Tenant), f.ID, f.UserID, f.Kind, f.Name, nullBytes(f.Secret), nullBytes(f.CredentialID),
			boolInt(f.Confirmed), f.LastStep, f.SignCount, f.CreatedAt.UnixMicro(), nullMicros(f.LastUsedAt))
		return wrapErr("create factor", err)
	})
}

// GetFactor reads one factor of the tenant.
func (r factorRepo) GetFactor(ctx context.Context, tenant store.TenantID, id string) (*store.Factor, error) {
	f, err := scanFactor(r.q.QueryRowContext(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return f, wrapErr("get factor", err)
}

// GetFactorByCredential finds a WebAuthn factor by credential id.
func (r factorRepo) GetFactorByCredential(ctx context.Context, tenant store.TenantID, credentialID []byte) (*store.Factor, error) {
	if len(credentialID) == 0 {
		return nil, notFound("get factor by credential")
	}
	f, err := scanFactor(r.q.QueryRowContext(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE tenant_id = $1 AND credential_id = $2`,
		string(tenant), credentialID))
	return f, wrapErr("get factor by credential", err)
}

// ListFactors answers the user's factors by id.
func (r factorRepo) ListFactors(ctx context.Context, tenant store.TenantID, userID string) ([]store.Factor, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 ORDER BY id`,
		string(tenant), userID)
	if err != nil {
		return nil, wrapErr("list factors", err)
	}
	defer rows.Close()
	var out []store.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, wrapErr("list factors", err)
		}
		out = append(out, *f)
	}
	return out, wrapErr("list factors", rows.Err())
}

// UpdateFactor rewrites the factor under a row lock.
func (r factorRepo) UpdateFactor(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Factor) error) (*store.Factor, error) {
	var out *store.Factor
	err := r.write(ctx, func(q querier) error {
		old, err := scanFactor(q.QueryRowContext(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE tenant_id = $1 AND id = $2`+r.forUpdate(),
			string(tenant), id))
		if err != nil {
			return wrapErr("update factor", err)
		}
		n := *old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant || n.UserID != old.UserID {
			return errors.New("sqlstore: update factor: the closure changed the id, tenant or user")
		}
		if err := validFactor(&n); err != nil {
			return err
		}
		n.CreatedAt, n.LastUsedAt = old.CreatedAt, microPtr(n.LastUsedAt)
		_, err = q.ExecContext(ctx, `UPDATE mfa_factors SET kind = $1, name = $2, secret = $3, credential_id = $4,
confirmed = $5, last_step = $6, sign_count = $7, last_used_at = $8 WHERE tenant_id = $9 AND id = $10`,
			n.Kind, n.Name, nullBytes(n.Secret), nullBytes(n.CredentialID), boolInt(n.Confirmed), n.LastStep, n.SignCount,
			nullMicros(n.LastUsedAt), string(tenant), id)
		if err != nil {
			return wrapErr("update factor", err)
		}
		out = &n
		return nil
	})
	return out, err
}

// UseStep is one conditional UPDATE: the database decides the replay race.
func (r factorRepo) UseStep(ctx context.Context, tenant store.TenantID, id string, step int64, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE mfa_factors SET last_step = $1, last_used_at = $2
WHERE tenant_id = $3 AND id = $4 AND last_step < $5`, step, micro(at).UnixMicro(), string(tenant), id, step)
		if err != nil {
			return wrapErr("use step", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return wrapErr("use step", err)
		}
		if _, err := r.GetFactor(ctx, tenant, id); err != nil {
			return err
		}
		return store.ErrConflict
	})
}

// DeleteFactor removes one of the user's factors.
func (r factorRepo) DeleteFactor(ctx context.Context, tenant store.TenantID, userID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
			string(tenant), userID, id)
		if err != nil {
			return wrapErr("delete factor", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(wrapErr("delete factor", err), notFound("delete factor"))
		}
		return nil
	})
}

// DeleteUserFactors removes every factor and recovery code of the user.
func (r factorRepo) DeleteUserFactors(ctx context.Context, tenant store.TenantID, userID string) (int, error) {
	var n int64
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
		if err != nil {
			return wrapErr("delete user factors", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return wrapErr("delete user factors", err)
		}
		_, err = q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
		return wrapErr("delete user factors", err)
	})
	return int(n), err
}

type recoveryRepo struct{ *scope }

// ReplaceRecoveryCodes swaps the user's codes in one transaction.
func (r recoveryRepo) ReplaceRecoveryCodes(ctx context.Context, tenant store.TenantID, userID string, hashes [][]byte, at time.Time) error {
	return r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`,
			string(tenant), userID); err != nil {
			return wrapErr("replace recovery codes", err)
		}
		for _, h := range hashes {
			if len(h) == 0 {
				return errors.New("sqlstore: replace recovery codes: empty hash")
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)`,
				string(tenant), userID, h, micro(at).UnixMicro()); err != nil {
				return wrapErr("replace recovery codes", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode spends one unused code by a conditional update.
func (r recoveryRepo) UseRecoveryCode(ctx context.Context, tenant store.TenantID, userID string, hash []byte, at time.Time) error {
	if len(hash) == 0 {
		return notFound("use recovery code")
	}
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE mfa_recovery_codes SET used_at = $1
WHERE tenant_id = $2 AND user_id = $3 AND hash = $4 AND used_at IS NULL`, micro(at).UnixMicro(), string(tenant), userID, hash)
		if err != nil {
			return wrapErr("use recovery code", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(wrapErr("use recovery code", err), notFound("use recovery code"))
		}
		return nil
	})
}

// CountRecoveryCodes counts the user's unused codes.
func (r recoveryRepo) CountRecoveryCodes(ctx context.Context, tenant store.TenantID, userID string) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL`,
		string(tenant), userID).Scan(&n)
	return n, wrapErr("count recovery codes", err)
}

type ceremonyRepo struct{ *scope }

// PutCeremony inserts a ceremony.
func (r ceremonyRepo) PutCeremony(ctx context.Context, tenant store.TenantID, hash, data []byte, expires time.Time) error {
	if len(hash) == 0 || len(data) == 0 {
		return errors.New("sqlstore: ceremony needs a hash and data")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO mfa_ceremonies (tenant_id, hash, data, expires_at) VALUES ($1, $2, $3, $4)`,
			string(tenant), hash, data, micro(expires).UnixMicro())
		return wrapErr("put ceremony", err)
	})
}

// TakeCeremony is one DELETE ... RETURNING: the database picks the winner.
func (r ceremonyRepo) TakeCeremony(ctx context.Context, tenant store.TenantID, hash []byte, now time.Time) ([]byte, error) {
	var data []byte
	err := r.single(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `DELETE FROM mfa_ceremonies WHERE tenant_id = $1 AND hash = $2 AND expires_at > $3 RETURNING data`,
			string(tenant), hash, micro(now).UnixMicro()).Scan(&data)
	})
	return data, wrapErr("take ceremony", err)
}

// DeleteExpiredCeremonies sweeps ceremonies nobody finished.
func (r ceremonyRepo) DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM mfa_ceremonies WHERE expires_at <= $1`, micro(now).UnixMicro())
		if err != nil {
			return wrapErr("delete expired ceremonies", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("delete expired ceremonies", err)
	})
	return n, err
}
