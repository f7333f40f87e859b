package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCacheMax bounds the statements prepared once per pool; statements
// past it run unprepared (a statement's text is fixed per call site, so
// the bound is only reached by text built per call, such as a SCIM filter).
const stmtCacheMax = 512

// stmtCache keeps SQLite statements prepared: modernc's driver otherwise
// compiles every statement's text on every call, and the token path runs
// the same few statements all the time. database/sql prepares a cached
// statement once on each connection that runs it. PostgreSQL needs none of
// this: pgx's own per-connection statement cache (its default exec mode,
// cache_statement) prepares each statement text once per connection.
type stmtCache struct {
	db        *sql.DB
	mu        sync.RWMutex
	m         map[string]*sql.Stmt
	pending   map[string]bool // being prepared in the background
	closed    bool            // by close: nothing more is prepared
	preparing sync.WaitGroup  // the background preparations, which close awaits
	ctx       context.Context // of the preparations, cancelled by close
	cancel    context.CancelFunc
}

func newStmtCache(db *sql.DB) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}, ctx: ctx, cancel: cancel}
}

// get answers the prepared statement of query, or nil when it is not
// prepared yet. Preparing takes a connection of the pool, which a caller
// holding one inside a transaction must never wait for (the pool may be
// exhausted by others waiting for the write lock it holds): a missing
// statement is prepared in the background and the caller runs the text
// this time.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil || c.closed || c.pending[query] || len(c.m)+len(c.pending) >= stmtCacheMax {
		return st
	}
	c.pending[query] = true
	c.preparing.Add(1)
	go c.prepare(query)
	return nil
}

func (c *stmtCache) prepare(query string) {
	defer c.preparing.Done()
	st, err := c.db.PrepareContext(c.ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err == nil && c.m != nil {
		c.m[query] = st
	} else if err == nil {
		_ = st.Close() // closed meanwhile
	}
}

// close closes the prepared statements once the preparations under way
// have ended (one still waiting for a connection gives up): one holds a
// connection of the pool, which the pool's Close would otherwise leave
// open (and, on SQLite, its files being written) after it returned.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.preparing.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = nil
}

// cachedQuerier runs statements through the cache: on the pool, or within
// tx when it is set.
type cachedQuerier struct {
	q  querier
	tx *sql.Tx
	c  *stmtCache
}

// wrap answers q running through the statement cache, or q itself when
// there is none (PostgreSQL).
func (d *DB) wrap(q querier, tx *sql.Tx) querier {
	if d.stmts == nil {
		return q
	}
	return cachedQuerier{q: q, tx: tx, c: d.stmts}
}

func (w cachedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := w.c.get(query)
	if st == nil || w.tx == nil {
		return st
	}
	// Closed with the transaction; reuses the statement prepared on the
	// transaction's connection when there is one.
	return w.tx.StmtContext(ctx, st)
}

func (w cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.q.ExecContext(ctx, query, args...)
}

func (w cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return w.q.QueryContext(ctx, query, args...)
}

func (w cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.q.QueryRowContext(ctx, query, args...)
}

func (w cachedQuerier) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return w.q.PrepareContext(ctx, query)
}
