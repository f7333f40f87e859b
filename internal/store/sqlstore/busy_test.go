package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestLockContentionIsErrBusy: the error a write gets when another
// connection holds the lock it needs is store.ErrBusy, on SQLite (the
// write lock, no busy timeout left) and on PostgreSQL (lock_timeout), and
// other errors are not.
func TestLockContentionIsErrBusy(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "busy.db")
		holder, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		waiter, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		defer waiter.Close()
		hc, err := holder.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer hc.Close()
		if _, err := hc.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		if _, err := hc.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		_, werr := waiter.ExecContext(ctx, "INSERT INTO t VALUES (1)")
		if werr == nil {
			t.Fatal("a write got the lock another connection holds")
		}
		if got := wrapErr("insert", werr); !errors.Is(got, store.ErrBusy) {
			t.Errorf("wrapErr(%v) = %v, want store.ErrBusy", werr, got)
		}
		if _, err := hc.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		_, serr := waiter.ExecContext(ctx, "INSERT INTO nosuchtable VALUES (1)")
		if got := wrapErr("insert", serr); serr == nil || errors.Is(got, store.ErrBusy) {
			t.Errorf("a missing table is no contention: %v", got)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("GATEHOUSE_TEST_POSTGRES_DSN is not set")
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		table := fmt.Sprintf("gh_busy_test_%d", time.Now().UnixNano())
		if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		defer db.ExecContext(ctx, "DROP TABLE "+table)
		holder, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		if _, err := holder.ExecContext(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		waiter, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer waiter.Rollback()
		if _, err := waiter.ExecContext(ctx, "SET LOCAL lock_timeout = '20ms'"); err != nil {
			t.Fatal(err)
		}
		_, werr := waiter.ExecContext(ctx, "INSERT INTO "+table+" VALUES (1)")
		if got := wrapErr("insert", werr); werr == nil || !errors.Is(got, store.ErrBusy) {
			t.Errorf("wrapErr(%v) = %v, want store.ErrBusy", werr, got)
		}
	})
}

// TestRetryBusy: ErrBusy is retried up to the bound, anything else not.
func TestRetryBusy(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := store.RetryBusy(ctx, 3, func() error { calls++; return busyErr("x", errors.New("locked")) })
	if !errors.Is(err, store.ErrBusy) || calls != 3 {
		t.Errorf("always busy: %v after %d calls, want ErrBusy after 3", err, calls)
	}
	calls = 0
	err = store.RetryBusy(ctx, 3, func() error {
		calls++
		if calls < 2 {
			return busyErr("x", errors.New("locked"))
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("busy once: %v after %d calls, want nil after 2", err, calls)
	}
	calls = 0
	other := errors.New("other")
	if err := store.RetryBusy(ctx, 3, func() error { calls++; return other }); err != other || calls != 1 {
		t.Errorf("another error: %v after %d calls, want it after 1", err, calls)
	}
}
