package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type throttleRepo struct{ *scope }

// Fail is one upsert, atomic on both backends (PostgreSQL takes the row
// lock of the conflicting row, or makes concurrent inserts of a new key
// wait and then update; SQLite runs writers one at a time), so failures
// counted from any number of connections or nodes add up exactly.
//
// The count restarts at 1 when the previous failure lies window or more
// before now; window_start then moves to now (it records when the current
// run of failures began). last_failure never goes backwards, so a node
// with a lagging clock cannot shorten a run.
func (r throttleRepo) Fail(ctx context.Context, tenant store.TenantID, key string, now time.Time, window time.Duration) (int, error) {
	if err := validThrottle(tenant, key, window); err != nil {
		return 0, err
	}
	at := micro(now).UnixMicro()
	lapsed := micro(now.Add(-window)).UnixMicro()
	var count int
	err := r.single(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `INSERT INTO throttle (tenant_id, key, count, window_start, last_failure)
VALUES ($1, $2, 1, $3, $3)
ON CONFLICT (tenant_id, key) DO UPDATE SET
    count = CASE WHEN throttle.last_failure <= $4 THEN 1 ELSE throttle.count + 1 END,
    window_start = CASE WHEN throttle.last_failure <= $4 THEN $3 ELSE throttle.window_start END,
    last_failure = CASE WHEN throttle.last_failure < $3 THEN $3 ELSE throttle.last_failure END
RETURNING count`, string(tenant), key, at, lapsed).Scan(&count)
		return wrapErr("throttle fail", err)
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}

// Failures answers the count of the current run and its last failure, or
// (0, zero time) when there is none or it lapsed (the last failure lies
// window or more before now).
func (r throttleRepo) Failures(ctx context.Context, tenant store.TenantID, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	if err := validThrottle(tenant, key, window); err != nil {
		return 0, time.Time{}, err
	}
	var (
		count int
		last  int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT count, last_failure FROM throttle
WHERE tenant_id = $1 AND key = $2 AND last_failure > $3`,
		string(tenant), key, micro(now.Add(-window)).UnixMicro()).Scan(&count, &last)
	if err != nil {
		if err = wrapErr("throttle failures", err); errors.Is(err, store.ErrNotFound) {
			return 0, time.Time{}, nil
		}
		return 0, time.Time{}, err
	}
	return count, fromMicros(last), nil
}

// Reset deletes the key's row; an unknown key is no error.
func (r throttleRepo) Reset(ctx context.Context, tenant store.TenantID, key string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM throttle WHERE tenant_id = $1 AND key = $2`, string(tenant), key)
		return wrapErr("throttle reset", err)
	})
}

func validThrottle(tenant store.TenantID, key string, window time.Duration) error {
	switch {
	case tenant == "" || key == "":
		return errors.New("sqlstore: throttle needs a tenant and a key")
	case window <= 0:
		return errors.New("sqlstore: throttle window must be positive")
	}
	return nil
}
