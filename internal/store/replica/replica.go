// Package replica sends the reads that tolerate a little lag (lists and
// searches of the console, the API, SCIM) to a read replica of the
// database, and everything else to the primary (docs/operations.md,
// "Read replicas"). A replica that does not answer, lags too far or has
// paused its replay is left out until it is healthy again; a read that
// fails on the replica is run again on the primary; and a context marked
// WithPrimary (a browser that has just written) never reads the replica.
package replica

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultMaxLag is how far behind the primary a replica may be and still
// take reads.
const DefaultMaxLag = 2 * time.Second

// Status is what a replica says of itself.
type Status struct {
	// Lag is how far its replay is behind (0 when it has replayed all it
	// received).
	Lag time.Duration
	// Paused is true when its replay is paused.
	Paused bool
}

// Replica is a read-only store that can say how far behind it is.
type Replica interface {
	store.Store
	ReplicaStatus(ctx context.Context) (Status, error)
}

// Reads picks the store of a lag-tolerant read. The zero value and a nil
// *Reads read the primary only.
type Reads struct {
	Primary store.Store
	// Replica is nil when there is none.
	Replica Replica
	// MaxLag is the most lag allowed (DefaultMaxLag when zero).
	MaxLag time.Duration
	Log    *slog.Logger

	healthy atomic.Bool
}

type primaryKey struct{}

// WithPrimary marks ctx so that its reads go to the primary.
func WithPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryKey{}, true)
}

// Primary reports whether ctx was marked WithPrimary.
func Primary(ctx context.Context) bool { b, _ := ctx.Value(primaryKey{}).(bool); return b }

// Healthy reports whether the replica takes reads now.
func (r *Reads) Healthy() bool { return r != nil && r.Replica != nil && r.healthy.Load() }

// Do runs fn with the replica's repos when it is healthy and ctx allows
// it, else with the primary's. When fn fails on the replica with anything
// but one of the store's answers (not found, conflict...), the replica is
// marked unhealthy and fn runs again on the primary: fn must only read.
func (r *Reads) Do(ctx context.Context, fn func(store.Repos) error) error {
	if !r.Healthy() || Primary(ctx) {
		return fn(r.Primary)
	}
	err := fn(r.Replica)
	if err == nil || answer(err) || ctx.Err() != nil {
		return err
	}
	if r.healthy.CompareAndSwap(true, false) && r.Log != nil {
		r.Log.WarnContext(ctx, "read replica failed: reading the primary until it recovers", "err", err)
	}
	return fn(r.Primary)
}

// answer reports whether err is one of the store's answers rather than a
// failure of the database.
func answer(err error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrConflict, store.ErrPrecondition, store.ErrCycle, store.ErrBadFilter} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Check asks the replica how it is and records whether it takes reads.
func (r *Reads) Check(ctx context.Context) bool {
	if r == nil || r.Replica == nil {
		return false
	}
	max := r.MaxLag
	if max <= 0 {
		max = DefaultMaxLag
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := r.Replica.ReplicaStatus(ctx)
	ok := err == nil && !st.Paused && st.Lag <= max
	if was := r.healthy.Swap(ok); was != ok && r.Log != nil {
		if ok {
			r.Log.Info("read replica healthy: lag-tolerant reads go to it", "lag", st.Lag.String())
		} else {
			r.Log.Warn("read replica left out: reads go to the primary", "err", err, "lag", st.Lag.String(), "paused", st.Paused)
		}
	}
	return ok
}

// Run checks the replica every interval until ctx ends.
func (r *Reads) Run(ctx context.Context, every time.Duration) {
	if r == nil || r.Replica == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
