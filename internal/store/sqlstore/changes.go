package sqlstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// changeFeed fans committed changes out to the in-memory caches of this
// node (store.ChangeFeed). On PostgreSQL a write also NOTIFYs the other
// nodes, inside its transaction, so they hear of it exactly when it
// commits; a listener connection per node receives those.
type changeFeed struct {
	mu   sync.RWMutex
	subs []func(store.Change)
	// channel is the NOTIFY channel: per schema, so databases shared by
	// several deployments (or test schemas) do not hear each other.
	channel string
	stop    context.CancelFunc
	done    chan struct{}
}

var _ store.ChangeFeed = (*DB)(nil)

// OnChange registers fn for every committed change (see store.ChangeFeed).
func (d *DB) OnChange(fn func(store.Change)) {
	d.feed.mu.Lock()
	d.feed.subs = append(d.feed.subs, fn)
	d.feed.mu.Unlock()
}

func (d *DB) publish(c store.Change) {
	switch c.Kind {
	case changeRevoked, changeSync: // for the revocation memory alone
		if d.revs != nil {
			d.revs.heard(c)
		}
		return
	case store.ChangeAll:
		if d.revs != nil && d.revs.running.Load() {
			d.revs.reset()
		}
	}
	d.feed.mu.RLock()
	subs := d.feed.subs
	d.feed.mu.RUnlock()
	for _, fn := range subs {
		fn(c)
	}
}

// changed records c in a write: NOTIFY on PostgreSQL (delivered at commit,
// dropped on rollback), and this node's caches told once the write has
// committed: now when the write was its own transaction (the caller calls
// changed after it returned), or when InTx commits.
func (s *scope) notify(ctx context.Context, q querier, c store.Change) error {
	if s.db.feed.channel == "" {
		return nil
	}
	_, err := q.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.db.feed.channel, c.Kind+"\t"+string(c.Tenant)+"\t"+c.ID)
	return wrapErr("notify "+c.Kind, err)
}

// committed tells this node's caches of c after the write that made it
// has committed (see notify).
func (s *scope) committed(c store.Change) {
	if s.pending != nil {
		*s.pending = append(*s.pending, c)
		return
	}
	s.db.publish(c)
}

// parseChange reads a NOTIFY payload of notify.
func parseChange(p string) store.Change {
	parts := strings.SplitN(p, "\t", 3)
	if len(parts) != 3 {
		return store.Change{Kind: store.ChangeAll}
	}
	return store.Change{Kind: parts[0], Tenant: store.TenantID(parts[1]), ID: parts[2]}
}

// startListener, on PostgreSQL, LISTENs on a connection of its own (not
// the pool's) until Close, reconnecting with backoff. Whenever it
// (re)connects it tells the caches that anything may have changed, as
// notifications sent while it was away are lost.
func (d *DB) startListener(ctx context.Context, dsn string) error {
	var schema string
	if err := d.sql.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return wrapErr("listen: current schema", err)
	}
	d.feed.channel = "gatehouse_changes_" + schema
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.feed.stop, d.feed.done = stop, make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		defer close(d.feed.done)
		backoff := 100 * time.Millisecond
		for lctx.Err() == nil {
			err := d.listenOnce(lctx, dsn, ready)
			if lctx.Err() != nil {
				return
			}
			d.publish(store.Change{Kind: store.ChangeAll})
			select {
			case ready <- err: // the first attempt failed: Open reports it
			default:
			}
			select {
			case <-lctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			<-d.feed.done
			return err
		}
		return nil
	case <-ctx.Done():
		stop()
		<-d.feed.done
		return ctx.Err()
	}
}

func (d *DB) listenOnce(ctx context.Context, dsn string, ready chan error) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return wrapErr("listen: connect", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.feed.channel}.Sanitize()); err != nil {
		return wrapErr("listen", err)
	}
	d.publish(store.Change{Kind: store.ChangeAll})
	select {
	case ready <- nil:
	default:
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return wrapErr("listen: wait", err)
		}
		d.publish(parseChange(n.Payload))
	}
}

// stopListener ends the listener, if any, and waits for it.
func (d *DB) stopListener() {
	if d.feed.stop != nil {
		d.feed.stop()
		<-d.feed.done
	}
}
