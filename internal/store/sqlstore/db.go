// Package sqlstore implements the store interfaces on SQLite (embedded, the
// default) and PostgreSQL (shared by several nodes). Both run the same Go
// code; where the SQL dialects differ each statement is written once per
// dialect (see dialect.go and the migrations directory), never rewritten.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Driver names accepted by Open.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// MaxOpenConns bounds the pool: default 8 on SQLite (one writer at a
	// time anyway; the rest serve WAL readers), 20 on PostgreSQL.
	MaxOpenConns int
	// Now is the clock for created/updated times; default time.Now.
	Now func() time.Time
}

// DB is a store.Store on one SQL database. It is safe for concurrent use.
type DB struct {
	scope // repos bound to the pool; each call runs in its own transaction
	sql   *sql.DB
	d     *dialect
	now   func() time.Time
	// feed tells caches of committed changes (changes.go); clients and
	// users cache records for the token path (cache.go), hooks HookFor's
	// answers (cache.go).
	feed    changeFeed
	clients *recordCache[*store.Client]
	users   *recordCache[*store.User]
	hooks   *recordCache[*store.Hook]
	// revs keeps token_revocations in memory (revmemory.go); running
	// once Open has started it.
	revs *revMemory
	// stmts keeps SQLite's statements prepared (stmtcache.go); nil on
	// PostgreSQL, where pgx caches them.
	stmts *stmtCache
}

var _ store.Store = (*DB)(nil)

// Open connects to the database, pings it and applies pending migrations.
// driver is "sqlite" (dsn: a file path; its directory is created) or
// "postgres" (dsn: a postgres:// URL or a libpq key=value string).
func Open(ctx context.Context, driver, dsn string, opt Options) (*DB, error) {
	d, err := openPool(ctx, driver, dsn, opt)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	if driver == DriverPostgres {
		if err := d.startListener(ctx, dsn); err != nil {
			d.sql.Close()
			return nil, err
		}
	}
	d.revs.start() // after the listener: its first load must follow LISTEN
	return d, nil
}

// Migrate opens the database, applies pending migrations and closes it
// (the `gatehouse migrate` command).
func Migrate(ctx context.Context, driver, dsn string) error {
	d, err := openPool(ctx, driver, dsn, Options{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer d.sql.Close()
	return d.Migrate(ctx)
}

// openPool opens and pings without migrating.
func openPool(ctx context.Context, driver, dsn string, opt Options) (*DB, error) {
	var (
		name, src string
		dia       *dialect
		maxConns  int
	)
	switch driver {
	case DriverSQLite:
		p, err := sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		name, src, dia, maxConns = "sqlite", p, sqliteDialect, 8
	case DriverPostgres:
		if dsn == "" {
			return nil, errors.New("sqlstore: empty postgres DSN")
		}
		name, src, dia, maxConns = "pgx", dsn, postgresDialect, 20
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want %q or %q)", driver, DriverSQLite, DriverPostgres)
	}
	if opt.MaxOpenConns > 0 {
		maxConns = opt.MaxOpenConns
	}
	db, err := sql.Open(name, src)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", driver, err)
	}
	tunePool(db, maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: ping %s: %w", driver, err)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	d := &DB{sql: db, d: dia, now: now}
	if driver == DriverSQLite {
		d.stmts = newStmtCache(db)
	}
	d.scope = scope{db: d, q: traced(d.wrap(db, nil))} // trace.go, stmtcache.go
	d.clients = newClientCache(d)
	d.hooks = newHookCache(d)
	d.users = newUserCache(d)
	d.revs = newRevMemory(d)
	return d, nil
}

// tunePool bounds the pool at n connections and keeps every connection
// idle rather than reopening: a new SQLite connection re-runs its pragmas,
// a new PostgreSQL one a TLS+auth handshake.
func tunePool(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// sqliteDSN turns a file path into modernc's DSN: WAL so readers do not
// block the writer, a busy timeout so writers queue instead of failing,
// foreign keys on (SQLite's default is off), and BEGIN IMMEDIATE so a
// read-modify-write transaction takes the write lock before it reads; that
// is what makes update closures and audit appends serial on SQLite.
func sqliteDSN(path string) (string, error) {
	if path == "" {
		return "", errors.New("sqlstore: empty sqlite path")
	}
	// The path is placed verbatim in a file: URI, so these would be
	// misread as URI syntax.
	if strings.ContainsAny(path, "?#%") {
		return "", fmt.Errorf("sqlstore: sqlite path %q must not contain '?', '#' or '%%'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("sqlstore: create database directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Bound the WAL file: without a limit it keeps its high-water size
	// (hundreds of MiB under sustained writes) after each checkpoint.
	q.Add("_pragma", "journal_size_limit(67108864)")
	// Deleted content is overwritten with zeros, so an erased person's
	// rows do not linger in free pages of the file (internal/privacy).
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode(), nil
}

// SQL returns the underlying pool, for metrics and tests.
func (d *DB) SQL() *sql.DB { return d.sql }

// Dialect names the backend: "sqlite" or "postgres".
func (d *DB) Dialect() string { return d.d.name }

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Close stops the change listener and closes the pool.
func (d *DB) Close() error {
	if d.revs != nil {
		d.revs.close()
	}
	d.stopListener()
	if d.stmts != nil {
		d.stmts.close()
	}
	return d.sql.Close()
}

// InTx runs fn in one transaction. The repos given to fn run every call on
// that transaction (update closures and audit appends included), so a
// change and its audit entry commit together. fn's error is returned
// unchanged; a panic rolls back and is re-raised. The repos must not be
// used after fn returns, nor from several goroutines at once. fn must make
// its calls through tx, not through d: on SQLite a write through d would
// wait for this transaction's write lock until the busy timeout.
func (d *DB) InTx(ctx context.Context, fn func(tx store.Repos) error) error {
	var changes []store.Change // told to this node's caches once committed
	err := d.runTx(ctx, func(tx *sql.Tx) error {
		changes = changes[:0]
		return fn(&scope{db: d, q: traced(d.wrap(tx, tx)), tx: tx, pending: &changes})
	})
	if err == nil {
		for _, c := range changes {
			d.publish(c)
		}
	}
	return err
}

// runTx runs fn in a new transaction, committing when fn returns nil.
func (d *DB) runTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		if isBusy(err) {
			return busyErr("begin", err)
		}
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	done := false
	defer func() {
		if !done { // fn panicked
			_ = tx.Rollback()
		}
	}()
	err = fn(tx)
	done = true
	if err != nil {
		_ = tx.Rollback()
		if isBusy(err) { // a statement whose error was not wrapped
			return busyErr("transaction", err)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("commit", err)
	}
	return nil
}

// now returns the store clock's time at the precision stored.
func (d *DB) nowMicro() time.Time { return micro(d.now()) }
