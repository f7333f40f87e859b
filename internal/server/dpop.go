package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/replay"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// replaySweepEvery is how often a node on PostgreSQL without Redis
// deletes the expired rows of replay_keys (a DPoP jti lives two minutes).
const replaySweepEvery = 30 * time.Second

// dpopReplays is where the DPoP proofs' jtis are remembered, shared by
// every node a replay can reach: Redis when redis_url is set; on
// PostgreSQL the database's replay_keys table (unlogged: no WAL, no
// flush); on SQLite, one node, this process's memory. A shared cache has
// this node's memory in front. sweep says the table needs the sweep.
func dpopReplays(db *sqlstore.DB, r *ratelimit.Redis) (c store.ReplayCache, sweep bool) {
	switch {
	case r != nil:
		return &replay.Shared{Front: &replay.Memory{}, Back: &replay.Redis{C: r.Client()}}, false
	case db.Dialect() == "postgres":
		return &replay.Shared{Front: &replay.Memory{}, Back: db.Replays()}, true
	}
	return &replay.Memory{}, false
}

// sweepReplaysEvery deletes expired replay keys until ctx ends, when the
// node keeps them in the database's table.
func (a *App) sweepReplaysEvery(ctx context.Context, every time.Duration) {
	if !a.sweepReplays {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := a.DB.SweepReplays(ctx, a.now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("deleting expired replay keys", "err", err)
		}
	}
}
