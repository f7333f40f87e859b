package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/replica"
)

// OpenReplica connects to a read replica of a PostgreSQL database. It
// does not migrate (a replica is read-only; the primary's migrations reach
// it through replication) and does not fail when the replica is down: the
// pool connects when first used, and replica.Reads leaves it out until it
// answers.
func OpenReplica(dsn string, opt Options) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("sqlstore: empty replica DSN")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	n := opt.MaxOpenConns
	if n <= 0 {
		n = 20
	}
	tunePool(db, n)
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	d := &DB{sql: db, d: postgresDialect, now: now}
	d.scope = scope{db: d, q: db}
	return d, nil
}

var _ replica.Replica = (*DB)(nil)

// ReplicaStatus answers how far the replica's replay is behind: zero when
// it has replayed everything it received, else the time since the last
// transaction it replayed; and whether replay is paused. An error when
// the database is not in recovery (a primary is no replica).
func (d *DB) ReplicaStatus(ctx context.Context) (replica.Status, error) {
	var (
		st        replica.Status
		inRecover bool
		caughtUp  sql.NullBool
		paused    sql.NullBool
		lagSecs   sql.NullFloat64
	)
	err := d.sql.QueryRowContext(ctx, `SELECT pg_is_in_recovery(),
  pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END,
  EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())`).Scan(&inRecover, &caughtUp, &paused, &lagSecs)
	if err != nil {
		return st, wrapErr("replica status", err)
	}
	if !inRecover {
		return st, errors.New("sqlstore: the replica is not in recovery (is it a primary?)")
	}
	st.Paused = paused.Valid && paused.Bool
	if !(caughtUp.Valid && caughtUp.Bool) && lagSecs.Valid {
		st.Lag = time.Duration(lagSecs.Float64 * float64(time.Second))
	}
	return st, nil
}
