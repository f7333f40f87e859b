package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrations are versioned SQL files per dialect, NNNN_name.sql, applied in
// order, each in its own transaction together with its schema_migrations
// row, so a failed file leaves no trace and is retried on the next start.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrateLockKey is the PostgreSQL advisory lock nodes hold while
// migrating, so two nodes starting together apply each file once. It is
// "ghmigr" in ASCII; any constant the rest of the code does not use works.
const migrateLockKey int64 = 0x67686d696772

type migration struct {
	version int
	name    string
	sql     string
}

// migrations answers the dialect's files in version order.
func migrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must start with a positive version and '_'", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// MigrationsDigest names the schema Migrate builds for driver: a hash of
// the dialect's migration files, names and contents, in version order.
// Two databases migrated by binaries with the same digest have the same
// tables, so a copy of one migrated database can stand for another (tests
// keep migrated templates by it). It fails for an unknown driver.
func MigrationsDigest(driver string) (string, error) {
	dialect := map[string]string{DriverSQLite: sqliteDialect.name, DriverPostgres: postgresDialect.name}[driver]
	if dialect == "" {
		return "", fmt.Errorf("sqlstore: unknown driver %q", driver)
	}
	ms, err := migrations(dialect)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		// Length-prefixed, so no two lists of files hash alike.
		fmt.Fprintf(h, "%d:%s%d:%s", len(m.name), m.name, len(m.sql), m.sql)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// The bookkeeping table, once per dialect.
const (
	sqliteMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    applied_at INTEGER NOT NULL
) STRICT`
	postgresMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)`
)

// Migrate applies the migrations the database lacks, then fills in the
// columns derived in Go of rows older than them. It is a no-op when
// the schema is current, and an error when the database was migrated by a
// newer Gatehouse (running old code on a newer schema is not safe).
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := migrations(d.d.name)
	if err != nil {
		return err
	}
	for {
		applied, err := d.migrateOne(ctx, ms)
		if err != nil {
			return err
		}
		if !applied {
			return d.backfillSkeletons(ctx)
		}
	}
}

// migrateOne applies the first pending migration in one transaction and
// reports whether there was one. It re-reads the applied versions under
// the lock each time, so it never trusts what another node did meanwhile.
func (d *DB) migrateOne(ctx context.Context, ms []migration) (bool, error) {
	var applied bool
	err := d.runTx(ctx, func(tx *sql.Tx) error {
		table := sqliteMigrationsTable
		if d.d.postgres {
			// Held until this transaction ends. CREATE TABLE IF NOT
			// EXISTS itself races on PostgreSQL, so it runs under it too.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
				return wrapErr("migrate: lock", err)
			}
			table = postgresMigrationsTable
		}
		if _, err := tx.ExecContext(ctx, table); err != nil {
			return wrapErr("migrate: create schema_migrations", err)
		}
		done, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		if n := len(done); n > 0 && len(ms) > 0 && done[n-1] > ms[len(ms)-1].version {
			return fmt.Errorf("sqlstore: database schema version %d is newer than this binary's %d", done[n-1], ms[len(ms)-1].version)
		}
		for _, m := range ms {
			if slices.Contains(done, m.version) {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, d.nowMicro().UnixMicro()); err != nil {
				return wrapErr("migrate: record "+m.name, err)
			}
			applied = true
			return nil
		}
		return nil
	})
	return applied, err
}

// AppliedMigrations answers the versions recorded in schema_migrations,
// ascending.
func (d *DB) AppliedMigrations(ctx context.Context) ([]int, error) {
	return appliedVersions(ctx, d.sql)
}

func appliedVersions(ctx context.Context, q querier) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, wrapErr("migrate: read versions", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, wrapErr("migrate: read versions", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("migrate: read versions", err)
	}
	return vs, nil
}
