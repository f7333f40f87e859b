package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (s *scope) Profiles() store.Profiles { return profileRepo{s} }

type profileRepo struct{ *scope }

var _ store.Profiles = profileRepo{}

// userExists answers ErrNotFound unless the user is in tenant.
func userExists(ctx context.Context, q querier, op string, tenant store.TenantID, userID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, string(tenant), userID).Scan(&one)
	return wrapErr(op, err)
}

// CountSignIn increments the counter in one upsert.
func (r profileRepo) CountSignIn(ctx context.Context, tenant store.TenantID, userID string) (int, error) {
	var n int
	err := r.write(ctx, func(q querier) error {
		if err := userExists(ctx, q, "count sign-in", tenant, userID); err != nil {
			return err
		}
		return wrapErr("count sign-in", q.QueryRowContext(ctx, `INSERT INTO profile_progress (tenant_id, user_id, sign_ins) VALUES ($1, $2, 1)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET sign_ins = profile_progress.sign_ins + 1
RETURNING sign_ins`, string(tenant), userID).Scan(&n))
	})
	return n, err
}

// GetProfileProgress reads the row; none is the zero value.
func (r profileRepo) GetProfileProgress(ctx context.Context, tenant store.TenantID, userID string) (store.ProfileProgress, error) {
	return r.progress(ctx, r.q, tenant, userID, "")
}

func (r profileRepo) progress(ctx context.Context, q querier, tenant store.TenantID, userID, lock string) (store.ProfileProgress, error) {
	var (
		p     store.ProfileProgress
		skips string
	)
	err := q.QueryRowContext(ctx, `SELECT sign_ins, skips FROM profile_progress WHERE tenant_id = $1 AND user_id = $2`+lock,
		string(tenant), userID).Scan(&p.SignIns, &skips)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ProfileProgress{Skips: map[string]store.ProfileSkip{}}, nil
	}
	if err != nil {
		return p, wrapErr("profile progress", err)
	}
	if err := json.Unmarshal([]byte(skips), &p.Skips); err != nil {
		return p, errors.New("sqlstore: profile progress: stored skips are not a JSON object")
	}
	if p.Skips == nil {
		p.Skips = map[string]store.ProfileSkip{}
	}
	return p, nil
}

// SkipProfileFields rewrites the skips under the row's lock.
func (r profileRepo) SkipProfileFields(ctx context.Context, tenant store.TenantID, userID string, fields []string) error {
	return r.write(ctx, func(q querier) error {
		if err := userExists(ctx, q, "skip profile fields", tenant, userID); err != nil {
			return err
		}
		p, err := r.progress(ctx, q, tenant, userID, r.forUpdate())
		if err != nil {
			return err
		}
		for _, f := range fields {
			sk := p.Skips[f]
			sk.N++
			sk.At = p.SignIns
			p.Skips[f] = sk
		}
		raw, err := json.Marshal(p.Skips)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO profile_progress (tenant_id, user_id, skips) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET skips = excluded.skips`, string(tenant), userID, string(raw))
		return wrapErr("skip profile fields", err)
	})
}
