package sqlstore

import (
	"database/sql"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, op string, scan func(interface{ Scan(...any) error }) (*T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrapErr(op, err)
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// oneRow answers ErrNotFound when res affected no row.
func oneRow(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

// guardRow checks the write of a read-modify-write, whose WHERE clause
// repeats the version read. The row is locked, so a miss means the lock
// did not hold: refuse rather than overwrite a concurrent change.
func guardRow(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: the row changed underneath: %w", op, store.ErrPrecondition)
	}
	return nil
}
