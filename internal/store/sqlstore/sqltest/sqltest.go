// Package sqltest opens throwaway sqlstore databases for tests of any
// package: SQLite in the test's temporary directory, PostgreSQL on the
// server named by GATEHOUSE_TEST_POSTGRES_DSN in a fresh schema (empty) or
// a fresh database (a copy of a migrated template), dropped when the test
// ends.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// EnvPostgresDSN names the variable that turns PostgreSQL tests on.
const EnvPostgresDSN = "GATEHOUSE_TEST_POSTGRES_DSN"

// OpenSQLite opens a migrated SQLite store in t.TempDir(), closed at cleanup.
// The file starts as a copy of the process's migrated template
// (MigratedSQLite); Open finds it current.
func OpenSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	MigratedSQLite(t, path)
	return open(t, sqlstore.DriverSQLite, path)
}

// OpenPostgres opens a migrated PostgreSQL store in a fresh database, a
// copy of the process's migrated template (see MigratedPostgresDSN); Open
// finds it current. It skips t when GATEHOUSE_TEST_POSTGRES_DSN is unset.
func OpenPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, sqlstore.DriverPostgres, MigratedPostgresDSN(t))
}

func open(t testing.TB, driver, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), driver, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("sqltest: open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresDSN creates an empty schema gh_test_<random> and answers a DSN
// whose connections use it (search_path, sent as a startup parameter), so
// tests never see each other's rows or tables. The schema is dropped at
// cleanup, after anything opened later (cleanups run last-in first-out).
// It skips t when GATEHOUSE_TEST_POSTGRES_DSN is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skip(EnvPostgresDSN + " is not set")
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "gh_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	ctx := context.Background()
	// schema is [a-z0-9_] only, so it needs no quoting.
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("sqltest: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("sqltest: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := dsnWith(base, "", schema)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", EnvPostgresDSN, err)
	}
	return dsn
}

// dsnWith answers dsn naming database instead of its own (unless empty)
// and with search_path schema (unless empty), for a postgres:// URL or a
// key=value DSN (pgx takes the last of a repeated key); pgx passes
// parameters it does not know, such as search_path, to the server as
// run-time settings.
func dsnWith(dsn, database, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if database != "" {
			dsn += " dbname=" + database
		}
		if schema != "" {
			dsn += " search_path=" + schema
		}
		return dsn, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	if database != "" {
		u.Path = "/" + database
	}
	if schema != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// ForEachDB runs fn in parallel subtests "sqlite" and "postgres", each on a
// fresh store; the PostgreSQL one is skipped when
// GATEHOUSE_TEST_POSTGRES_DSN is unset. fn gets the concrete DB, for tests
// that reach the tables behind the store.
func ForEachDB(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, b := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", OpenSQLite}, {"postgres", OpenPostgres}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open(t))
		})
	}
}

// ForEachStore is ForEachDB for tests that need only the store interface.
func ForEachStore(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	ForEachDB(t, func(t *testing.T, db *sqlstore.DB) { fn(t, db) })
}

// RawRow runs query on the tables behind db and answers the column names
// and values of its first row as the driver gives them; t fails when there
// is no row. Tests use it to see what is stored, such as that no secret is.
func RawRow(t testing.TB, db *sqlstore.DB, query string, args ...any) (cols []string, vals []any) {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", query, err)
	}
	defer rows.Close()
	if cols, err = rows.Columns(); err != nil {
		t.Fatalf("sqltest: %s: %v", query, err)
	}
	if !rows.Next() {
		t.Fatalf("sqltest: no row for %s %v", query, args)
	}
	vals = make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatalf("sqltest: %s: %v", query, err)
	}
	return cols, vals
}

// PostgresDatabase creates an empty database gh_<prefix>_<random> on the
// server of GATEHOUSE_TEST_POSTGRES_DSN and answers a DSN of it; the
// database is dropped at cleanup (its connections closed by force). Tests
// of regions use it: each region is a database of its own. It skips t
// when GATEHOUSE_TEST_POSTGRES_DSN is unset.
func PostgresDatabase(t testing.TB, prefix string) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skip(EnvPostgresDSN + " is not set")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "gh_" + prefix + "_" + hex.EncodeToString(b[:])
	createDatabase(t, base, name, "")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("sqltest: %s must be a postgres:// URL for PostgresDatabase", EnvPostgresDSN)
	}
	u.Path = "/" + name
	return u.String()
}

// createDatabase creates database name on the server of base, a copy of
// template unless that is empty, and drops it at cleanup (its connections
// closed by force). name and template are [a-z0-9_] only, so they need no
// quoting.
func createDatabase(t testing.TB, base, name, template string) {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
		admin.Close()
		t.Fatalf("sqltest: %s: %v", stmt, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("sqltest: drop database %s: %v", name, err)
		}
	})
}
