package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestReplays: the database's replay cache keeps the contract on both
// backends, and the sweep deletes expired keys only.
func TestReplays(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		storetest.ReplayCache(t, db.Replays(), "ta", "tb")

		ctx := context.Background()
		now := time.Now()
		for _, k := range []string{"old1", "old2"} {
			if fresh, err := db.Replays().Claim(ctx, "ta", k, now.Add(-time.Hour), time.Minute); err != nil || !fresh {
				t.Fatalf("claim %s: %v %v", k, fresh, err)
			}
		}
		if fresh, err := db.Replays().Claim(ctx, "ta", "live", now, time.Minute); err != nil || !fresh {
			t.Fatalf("claim live: %v %v", fresh, err)
		}
		var before int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM replay_keys`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		n, err := db.SweepReplays(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		var after int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM replay_keys`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		// The suite's own keys expired seconds ago; "race" and "live" have a minute.
		if n < 2 || after != before-n || after < 2 {
			t.Fatalf("sweep deleted %d of %d rows, %d left; want the expired ones (at least old1, old2) and the live ones kept", n, before, after)
		}
		if fresh, err := db.Replays().Claim(ctx, "ta", "live", now, time.Minute); err != nil || fresh {
			t.Fatalf("a live key after the sweep: fresh=%v (%v), want refused", fresh, err)
		}
	})
}
