package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return sqltest.OpenSQLite(t) })
}

func TestPostgres(t *testing.T) {
	if os.Getenv(sqltest.EnvPostgresDSN) == "" {
		t.Skip(sqltest.EnvPostgresDSN + " is not set")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return sqltest.OpenPostgres(t) })
}

// backends answers an opener per backend; postgres skips without its DSN.
func backends() map[string]func(t *testing.T) (driver, dsn string) {
	return map[string]func(t *testing.T) (string, string){
		"sqlite": func(t *testing.T) (string, string) {
			return sqlstore.DriverSQLite, filepath.Join(t.TempDir(), "sub", "dir", "gh.db")
		},
		"postgres": func(t *testing.T) (string, string) { return sqlstore.DriverPostgres, sqltest.PostgresDSN(t) },
	}
}

// TestMigrate applies the migrations to an empty database of each backend,
// checks the recorded versions, and that applying again changes nothing.
func TestMigrate(t *testing.T) {
	for name, dsnFor := range backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			driver, dsn := dsnFor(t)
			if err := sqlstore.Migrate(ctx, driver, dsn); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			db, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			want := migrationVersions(t, driver)
			got, err := db.AppliedMigrations(ctx)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("AppliedMigrations = %v, %v; want %v", got, err, want)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			var rows int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(want) {
				t.Fatalf("schema_migrations has %d rows (%v), want %d", rows, err, len(want))
			}
			if db.Dialect() != name {
				t.Errorf("Dialect() = %q, want %q", db.Dialect(), name)
			}
		})
	}
}

// TestMigrateNewerSchema: a binary refuses a schema newer than it knows.
func TestMigrateNewerSchema(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err == nil {
		t.Fatal("Migrate accepted a database migrated by a newer binary")
	}
}

// TestMigrateConcurrent: two nodes starting together on one PostgreSQL
// database migrate it once.
func TestMigrateConcurrent(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- sqlstore.Migrate(ctx, sqlstore.DriverPostgres, dsn) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	db, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.AppliedMigrations(ctx)
	if err != nil || !slices.Equal(got, migrationVersions(t, sqlstore.DriverPostgres)) {
		t.Fatalf("AppliedMigrations = %v, %v", got, err)
	}
}

// TestPostgresSearchPath proves the DSNs of sqltest work: the store's
// tables land in the test's own schema of PostgresDSN, and a store of
// OpenPostgres (a copy of the migrated template) is a database of its own
// whose tables are in a schema that is not public.
func TestPostgresSearchPath(t *testing.T) {
	ctx := context.Background()
	fresh, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, sqltest.PostgresDSN(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	copied := sqltest.OpenPostgres(t)
	where := func(db *sqlstore.DB) (database, schema string, users int) {
		t.Helper()
		if err := db.SQL().QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&database, &schema); err != nil {
			t.Fatal(err)
		}
		err := db.SQL().QueryRowContext(ctx,
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'users'`, schema).Scan(&users)
		if err != nil {
			t.Fatal(err)
		}
		return database, schema, users
	}
	freshDB, freshSchema, n := where(fresh)
	if n != 1 || !strings.HasPrefix(freshSchema, "gh_test_") {
		t.Errorf("PostgresDSN: current_schema %q, users tables there %d", freshSchema, n)
	}
	copiedDB, copiedSchema, n := where(copied)
	if n != 1 || !strings.HasPrefix(copiedDB, "gh_test_") || copiedDB == freshDB || copiedSchema == "public" {
		t.Errorf("OpenPostgres: database %q (PostgresDSN's %q), current_schema %q, users tables there %d", copiedDB, freshDB, copiedSchema, n)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := sqlstore.Open(ctx, "mysql", "x", sqlstore.Options{}); err == nil {
		t.Error("Open accepted an unknown driver")
	}
	if _, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, "", sqlstore.Options{}); err == nil {
		t.Error("Open accepted an empty sqlite path")
	}
	if _, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", sqlstore.Options{}); err == nil {
		t.Error("Open succeeded without a server")
	}
}

// TestSQLitePragmas: every pooled connection runs with the DSN's settings
// (WAL, foreign keys, busy timeout), also under a path with a space.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, filepath.Join(t.TempDir(), "with space", "gh.db"), sqlstore.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Hold one connection so the queries below exercise the second too.
	held, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, q := range []struct {
		conn interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}
		name string
	}{{held, "held"}, {db.SQL(), "pool"}} {
		var mode string
		var fk, busy, sync int
		if err := q.conn.QueryRowContext(ctx, `SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout, pragma_synchronous`).Scan(&mode, &fk, &busy, &sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != 10000 || sync != 1 {
			t.Errorf("%s connection: journal_mode %s, foreign_keys %d, busy_timeout %d, synchronous %d; want wal 1 10000 1 (NORMAL)", q.name, mode, fk, busy, sync)
		}
		// Erased rows must not linger in free pages (internal/privacy).
		var secure int
		if err := q.conn.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil || secure != 1 {
			t.Errorf("%s connection: secure_delete %d %v; want 1", q.name, secure, err)
		}
	}
	if _, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, filepath.Join(t.TempDir(), "a?b.db"), sqlstore.Options{}); err == nil {
		t.Error("Open accepted a path with URI syntax")
	}
}

// migrationVersions lists the versions of the dialect's migration files,
// so branches adding migrations do not each edit a list here.
func migrationVersions(t *testing.T, driver string) []int {
	t.Helper()
	dir := "postgres"
	if driver == sqlstore.DriverSQLite {
		dir = "sqlite"
	}
	ents, err := os.ReadDir(filepath.Join("migrations", dir))
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, e := range ents {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}
