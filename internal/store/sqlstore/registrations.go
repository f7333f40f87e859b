package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// registrationRepo stores dynamic registration's records: the
// registration of a client (client_registrations) and initial access
// tokens (registration_tokens), migrations 0045 and 0046.
type registrationRepo struct{ *scope }

// parseTokenExchange reads a client's token exchange policy.
func parseTokenExchange(raw string, dst *store.TokenExchangePolicy) error {
	var p store.TokenExchangePolicy
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return err
		}
	}
	*dst = normTokenExchange(p)
	return nil
}

// normTokenExchange is p as it reads back: empty lists nil, else copies.
func normTokenExchange(p store.TokenExchangePolicy) store.TokenExchangePolicy {
	return store.TokenExchangePolicy{Audiences: normList(p.Audiences), Actors: normList(p.Actors)}
}

func tokenExchangeJSON(p store.TokenExchangePolicy) string {
	b, _ := json.Marshal(normTokenExchange(p)) // lists of strings always marshal
	return string(b)
}

// PutClientRegistration upserts the record; a missing client is
// ErrNotFound (the foreign key).
func (r registrationRepo) PutClientRegistration(ctx context.Context, reg *store.ClientRegistration) error {
	switch {
	case reg.Tenant == "" || reg.ClientID == "" || len(reg.TokenHash) == 0:
		return errors.New("sqlstore: client registration needs a tenant, a client and a token hash")
	case len(reg.Metadata) > 0 && !json.Valid(reg.Metadata):
		return errors.New("sqlstore: client registration metadata is not valid JSON")
	}
	n := *reg
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	n.TokenHash = cloneBytes(n.TokenHash)
	n.Metadata = json.RawMessage(jsonOr(n.Metadata, "{}"))
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO client_registrations (tenant_id, client_id, token_hash, metadata, created_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, client_id) DO UPDATE SET token_hash = excluded.token_hash,
metadata = excluded.metadata`, string(n.Tenant), n.ClientID, n.TokenHash, string(n.Metadata), n.CreatedAt.UnixMicro())
		return wrapErr("put client registration", err)
	})
	if err != nil {
		return err
	}
	*reg = n
	return nil
}

func (r registrationRepo) GetClientRegistration(ctx context.Context, tenant store.TenantID, clientID string) (*store.ClientRegistration, error) {
	var (
		reg      = store.ClientRegistration{Tenant: tenant, ClientID: clientID}
		metadata string
		created  int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT token_hash, metadata, created_at FROM client_registrations
WHERE tenant_id = $1 AND client_id = $2`, string(tenant), clientID).Scan(&reg.TokenHash, &metadata, &created)
	if err != nil {
		return nil, wrapErr("get client registration", err)
	}
	reg.Metadata, reg.CreatedAt = json.RawMessage(metadata), fromMicros(created)
	return &reg, nil
}

const registrationTokenCols = `tenant_id, id, token_hash, max_uses, uses, created_at, expires_at`

func scanRegistrationToken(s scanner) (*store.RegistrationToken, error) {
	var (
		t                store.RegistrationToken
		tenant           string
		created, expires int64
	)
	if err := s.Scan(&tenant, &t.ID, &t.Hash, &t.MaxUses, &t.Uses, &created, &expires); err != nil {
		return nil, err
	}
	t.Tenant, t.CreatedAt, t.ExpiresAt = store.TenantID(tenant), fromMicros(created), fromMicros(expires)
	return &t, nil
}

func (r registrationRepo) CreateRegistrationToken(ctx context.Context, t *store.RegistrationToken) error {
	switch {
	case t.ID == "" || t.Tenant == "" || len(t.Hash) == 0:
		return errors.New("sqlstore: registration token needs an id, a tenant and a hash")
	case t.MaxUses < 1 || t.Uses < 0 || t.ExpiresAt.IsZero():
		return errors.New("sqlstore: registration token needs max_uses >= 1 and an expiry")
	}
	n := *t
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt, n.ExpiresAt, n.Hash = micro(n.CreatedAt), micro(n.ExpiresAt), cloneBytes(n.Hash)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO registration_tokens (`+registrationTokenCols+`) VALUES (`+placeholders(0, 7)+`)`,
			string(n.Tenant), n.ID, n.Hash, n.MaxUses, n.Uses, n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro())
		return wrapErr("create registration token", err)
	})
	if err != nil {
		return err
	}
	*t = n
	return nil
}

// UseRegistrationToken is one conditional UPDATE, so the database decides
// which of concurrent uses fit under max_uses.
func (r registrationRepo) UseRegistrationToken(ctx context.Context, tenant store.TenantID, hash []byte, now time.Time) (*store.RegistrationToken, error) {
	var out *store.RegistrationToken
	err := r.single(ctx, func(q querier) error {
		t, err := scanRegistrationToken(q.QueryRowContext(ctx, `UPDATE registration_tokens SET uses = uses + 1
WHERE tenant_id = $1 AND token_hash = $2 AND uses < max_uses AND expires_at > $3
RETURNING `+registrationTokenCols, string(tenant), hash, now.UnixMicro()))
		if err != nil {
			return wrapErr("use registration token", err)
		}
		out = t
		return nil
	})
	return out, err
}
