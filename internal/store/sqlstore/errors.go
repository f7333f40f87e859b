package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// wrapErr maps a driver error of operation op to the store's sentinels:
// no row is ErrNotFound, a unique violation ErrConflict, and a foreign-key
// violation ErrNotFound (the tenant, group or user referred to is not
// there), and lock contention ErrBusy. Anything else is wrapped as is; the API layer answers it with a
// generic 500 and logs the cause, so driver text never reaches a client.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrConflict)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlstore: %s: referenced record missing: %w", op, store.ErrNotFound)
	case isBusy(err):
		return busyErr(op, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// notFound is the error for a statement that matched no row.
func notFound(op string) error { return fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound) }

// Constraint violations are told apart by code, never by message text.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgUniqueViolation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgForeignKeyViolation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// PostgreSQL's codes for a lock not had in time: serialization failure,
// deadlock detected, lock not available (lock_timeout).
const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgLockNotAvailable     = "55P03"
)

// isBusy reports lock contention: SQLite's SQLITE_BUSY and SQLITE_LOCKED
// (any extended code: the busy timeout ran out, a snapshot went stale, a
// table is locked), PostgreSQL's codes above. Errors already mapped to
// store.ErrBusy are not matched again.
func isBusy(err error) bool {
	if errors.Is(err, store.ErrBusy) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected || pe.Code == pgLockNotAvailable
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	return false
}

// busyErr wraps a lock-contention error as store.ErrBusy, keeping the
// driver's error in the chain for the log.
func busyErr(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w (%w)", op, store.ErrBusy, err)
}
