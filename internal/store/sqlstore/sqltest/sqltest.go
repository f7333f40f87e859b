// Package sqltest opens throwaway sqlstore databases for tests of any
// package: SQLite in the test's temporary directory, PostgreSQL in a fresh
// schema of the server named by GATEHOUSE_TEST_POSTGRES_DSN, dropped when
// the test ends.
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

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// EnvPostgresDSN names the variable that turns PostgreSQL tests on.
const EnvPostgresDSN = "GATEHOUSE_TEST_POSTGRES_DSN"

// OpenSQLite opens a migrated SQLite store in t.TempDir(), closed at cleanup.
func OpenSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, sqlstore.DriverSQLite, filepath.Join(t.TempDir(), "gatehouse.db"))
}

// OpenPostgres opens a migrated PostgreSQL store in a fresh schema (see
// PostgresDSN); it skips t when GATEHOUSE_TEST_POSTGRES_DSN is unset.
func OpenPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, sqlstore.DriverPostgres, PostgresDSN(t))
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
	return withSearchPath(t, base, schema)
}

// withSearchPath adds search_path to a URL or key=value DSN; pgx passes
// parameters it does not know to the server as run-time settings.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", EnvPostgresDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
