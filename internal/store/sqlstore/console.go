package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// consoleRepo stores the admin console's setup tokens and clients, bound
// to the scope's pool or transaction.
type consoleRepo struct{ *scope }

var _ store.Console = consoleRepo{}

func (s *scope) Console() store.Console { return consoleRepo{s} }

func scanSetupToken(r scanner) (*store.SetupToken, error) {
	var (
		t                store.SetupToken
		created, expires int64
		used             sql.NullInt64
	)
	if err := r.Scan(&t.Hash, &created, &expires, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	if used.Valid {
		u := fromMicros(used.Int64)
		t.UsedAt = &u
	}
	return &t, nil
}

// CreateSetupToken inserts t.
func (r consoleRepo) CreateSetupToken(ctx context.Context, t *store.SetupToken) error {
	if len(t.Hash) == 0 || t.ExpiresAt.IsZero() {
		return errors.New("sqlstore: setup token needs a hash and an expiry")
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO console_setup_tokens (hash, created_at, expires_at, used_at) VALUES ($1, $2, $3, NULL)`,
			t.Hash, micro(created).UnixMicro(), micro(t.ExpiresAt).UnixMicro())
		return wrapErr("create setup token", err)
	})
}

// PeekSetupToken reads the live token of hash.
func (r consoleRepo) PeekSetupToken(ctx context.Context, hash []byte, now time.Time) (*store.SetupToken, error) {
	if len(hash) == 0 {
		return nil, notFound("peek setup token")
	}
	t, err := scanSetupToken(r.q.QueryRowContext(ctx, `SELECT hash, created_at, expires_at, used_at FROM console_setup_tokens
WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, micro(now).UnixMicro()))
	return t, wrapErr("peek setup token", err)
}

// ConsumeSetupToken is one conditional UPDATE ... RETURNING: the database
// lets exactly one of concurrent calls spend the token.
func (r consoleRepo) ConsumeSetupToken(ctx context.Context, hash []byte, now time.Time) (*store.SetupToken, error) {
	if len(hash) == 0 {
		return nil, notFound("consume setup token")
	}
	var out *store.SetupToken
	err := r.single(ctx, func(q querier) error {
		t, err := scanSetupToken(q.QueryRowContext(ctx, `UPDATE console_setup_tokens SET used_at = $1
WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
RETURNING hash, created_at, expires_at, used_at`, micro(now).UnixMicro(), hash))
		out = t
		return wrapErr("consume setup token", err)
	})
	return out, err
}

// ConsoleClient reads tenant's console client id.
func (r consoleRepo) ConsoleClient(ctx context.Context, tenant store.TenantID) (string, error) {
	var id string
	err := r.q.QueryRowContext(ctx, `SELECT client_id FROM console_clients WHERE tenant_id = $1`, string(tenant)).Scan(&id)
	return id, wrapErr("get console client", err)
}

// SetConsoleClient inserts tenant's console client id.
func (r consoleRepo) SetConsoleClient(ctx context.Context, tenant store.TenantID, clientID string, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO console_clients (tenant_id, client_id, created_at) VALUES ($1, $2, $3)`,
			string(tenant), clientID, micro(at).UnixMicro())
		if isForeignKeyViolation(err) {
			return notFound("set console client")
		}
		return wrapErr("set console client", err)
	})
}

// ForgetConsoleClient deletes tenant's record if it names clientID.
func (r consoleRepo) ForgetConsoleClient(ctx context.Context, tenant store.TenantID, clientID string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM console_clients WHERE tenant_id = $1 AND client_id = $2`, string(tenant), clientID)
		return wrapErr("forget console client", err)
	})
}
