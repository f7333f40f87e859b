package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type rateBucketRepo struct{ db *DB }

// RateBuckets answers the token buckets of the per-tenant rate limits.
// They sit outside Repos: a bucket is decided by one statement of its
// own, never inside another transaction.
func (db *DB) RateBuckets() store.RateBuckets { return rateBucketRepo{db} }

// Take is one upsert whose update is conditional: the row is created
// full-minus-one, or moved on when the request fits the burst; when it
// does not, the WHERE leaves the row alone and RETURNING yields nothing.
// PostgreSQL row locks and SQLite's single writer make concurrent takes
// from any node add up exactly.
func (r rateBucketRepo) Take(ctx context.Context, tenant store.TenantID, bucket string, now time.Time, interval time.Duration, burst int) (bool, time.Time, error) {
	if tenant == "" || bucket == "" || interval < time.Microsecond || burst < 1 {
		return false, time.Time{}, errors.New("sqlstore: rate bucket needs a tenant, a bucket, an interval and a burst")
	}
	at := now.UnixMicro()
	step := interval.Microseconds()
	slack := int64(burst-1) * step // TAT may lie this far ahead of now
	greatest := "max"
	if r.db.d.postgres {
		greatest = "GREATEST"
	}
	var tat int64
	err := r.db.sql.QueryRowContext(ctx, `INSERT INTO rate_buckets (tenant_id, bucket, tat)
VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, bucket) DO UPDATE SET tat = `+greatest+`(rate_buckets.tat, $4) + $5
WHERE rate_buckets.tat <= $6
RETURNING tat`, string(tenant), bucket, at+step, at, step, at+slack).Scan(&tat)
	if err == nil {
		return true, fromMicros(tat), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, time.Time{}, wrapErr("rate bucket take", err)
	}
	// Refused: read the TAT that refused it, for the client's Retry-After.
	err = r.db.sql.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE tenant_id = $1 AND bucket = $2`,
		string(tenant), bucket).Scan(&tat)
	if err != nil {
		return false, time.Time{}, wrapErr("rate bucket read", err)
	}
	return false, fromMicros(tat), nil
}
