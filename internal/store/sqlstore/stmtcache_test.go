package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestStmtCacheCloseAwaitsPreparations: close returns only once the
// background preparations have ended, one waiting for a connection giving
// up, and starts no more: the pool's Close must not leave a connection open
// behind it (on SQLite, writing files in a directory about to be removed).
func TestStmtCacheCloseAwaitsPreparations(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	held, err := db.Conn(context.Background()) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	c := newStmtCache(db)
	if st := c.get("SELECT 1"); st != nil {
		t.Fatal("a statement prepared at once; want it prepared in the background")
	}
	closed := make(chan struct{})
	go func() { c.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("close did not return while a preparation waited for a connection")
	}
	c.mu.RLock()
	pending := len(c.pending)
	c.mu.RUnlock()
	if pending != 0 {
		t.Fatalf("close returned with %d preparations under way", pending)
	}
	if st := c.get("SELECT 2"); st != nil {
		t.Fatal("a closed cache answered a statement")
	}
	c.mu.RLock()
	pending = len(c.pending)
	c.mu.RUnlock()
	if pending != 0 {
		t.Fatal("a closed cache started a preparation")
	}
}
