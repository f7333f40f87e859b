package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// templateSchema is the schema the migrated template's tables live in, and
// so every copy's: not public, as with PostgresDSN, so the store keeps
// being tested under a search_path of its own.
const templateSchema = "gh_test_migrated"

// templateLockKey is the PostgreSQL advisory lock test processes hold
// while they look for or build the template; distinct from the store's
// migration lock.
const templateLockKey int64 = 0x6768746d706c // "ghtmpl"

// postgresTemplate answers the name of a database on the server of base
// migrated from empty by sqlstore.Migrate, made once per set of migration
// files and shared by every test process: its name carries
// sqlstore.MigrationsDigest. Migrating costs about 1.5 s per test under the
// race detector (and every migration transaction of every test on the
// server takes one lock); CREATE DATABASE ... TEMPLATE copies the result
// in a fraction of that. Migration itself stays tested from empty by
// sqlstore's TestMigrate and by every caller of PostgresDSN. The template
// is kept on the server, like a build cache; it is built under a name of
// its own and renamed when complete, so a process that died half way
// leaves nothing another would copy.
var postgresTemplate = sync.OnceValues(func() (string, error) {
	base := os.Getenv(EnvPostgresDSN)
	digest, err := sqlstore.MigrationsDigest(sqlstore.DriverPostgres)
	if err != nil {
		return "", err
	}
	name := "gh_tpl_" + digest[:16]
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx) // the session lock belongs to one connection
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, templateLockKey)
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		return "", err
	}
	if n == 1 {
		return name, nil
	}
	// name and partial are [a-z0-9_] only, so they need no quoting.
	partial := name + "_partial"
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + partial + " WITH (FORCE)", "CREATE DATABASE " + partial} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return "", err
		}
	}
	if err := migrateInSchema(ctx, base, partial); err != nil {
		return "", err
	}
	// The migration's connections are closed; PostgreSQL waits a few
	// seconds for their backends to end before refusing the rename.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+partial+" RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
})

// migrateInSchema creates templateSchema in database on the server of
// base and migrates the store into it.
func migrateInSchema(ctx context.Context, base, database string) error {
	dsn, err := dsnWith(base, database, "")
	if err != nil {
		return err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE SCHEMA "+templateSchema)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if dsn, err = dsnWith(base, database, templateSchema); err != nil {
		return err
	}
	return sqlstore.Migrate(ctx, sqlstore.DriverPostgres, dsn)
}

// MigratedPostgresDSN creates a database gh_test_<random>, a copy of the
// migrated template (see postgresTemplate), and answers a DSN whose
// connections use it, with search_path set to the schema its tables are
// in; sqlstore.Open finds it current. The database is dropped at cleanup
// (its connections closed by force), after anything opened later. It
// skips t when GATEHOUSE_TEST_POSTGRES_DSN is unset. Tests of migration
// itself want PostgresDSN's empty schema instead.
func MigratedPostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skip(EnvPostgresDSN + " is not set")
	}
	tpl, err := postgresTemplate()
	if err != nil {
		t.Fatalf("sqltest: migrated PostgreSQL template: %v", err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "gh_test_" + hex.EncodeToString(b[:])
	dsn, err := dsnWith(base, name, templateSchema)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", EnvPostgresDSN, err)
	}
	createDatabase(t, base, name, tpl)
	return dsn
}
