package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type replayRepo struct{ db *DB }

// Replays answers the replay cache every node on this database shares
// (table replay_keys). Like RateBuckets it sits outside Repos: a claim is
// one statement of its own, never inside another transaction.
func (db *DB) Replays() store.ReplayCache { return replayRepo{db} }

// Claim is one upsert whose update is conditional: a new key is inserted,
// an expired row of the key is taken over, and a live one is left alone,
// so RETURNING yields nothing. The primary key makes concurrent claims of
// one key from any node decide once (PostgreSQL makes the second insert
// wait for the first and then see its row; SQLite runs writers one at a
// time).
func (r replayRepo) Claim(ctx context.Context, tenant store.TenantID, key string, now time.Time, ttl time.Duration) (bool, error) {
	if tenant == "" || key == "" || ttl <= 0 {
		return false, errors.New("sqlstore: a replay claim needs a tenant, a key and a positive ttl")
	}
	at := now.UnixMicro()
	var exp int64
	err := r.db.sql.QueryRowContext(ctx, `INSERT INTO replay_keys (tenant_id, key, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, key) DO UPDATE SET expires_at = excluded.expires_at
WHERE replay_keys.expires_at <= $4
RETURNING expires_at`, string(tenant), key, now.Add(ttl).UnixMicro(), at).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr("replay claim", err)
	}
	return true, nil
}

// SweepReplays deletes the replay keys expired at now and answers how
// many. Claims never need it (they take expired rows over); it keeps the
// table at the size of the keys' lifetime.
func (db *DB) SweepReplays(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM replay_keys WHERE expires_at <= $1`, now.UnixMicro())
	if err != nil {
		return 0, wrapErr("replay sweep", err)
	}
	n, err := res.RowsAffected()
	return n, wrapErr("replay sweep", err)
}
