package store

import (
	"context"
	"errors"
	"time"
)

// ErrBusy reports that the database could not take a lock in time: on
// SQLite the write lock within the busy timeout, on PostgreSQL a lock
// timeout, a serialization failure or a deadlock. Nothing was written; the
// same call may succeed when retried. HTTP edges answer it 503 with
// Retry-After, background loops retry it on their next round.
var ErrBusy = errors.New("store: database busy")

// RetryBusy calls fn until it answers anything but ErrBusy, at most tries
// times, waiting 50 ms, 100 ms, 200 ms... between calls; it answers fn's
// last error, or ctx's when ctx ends first. fn must be safe to repeat:
// an ErrBusy call wrote nothing. Background work that must not be lost to
// contention (recording that a mail went out) uses it; requests answer
// ErrBusy with 503 instead of waiting.
func RetryBusy(ctx context.Context, tries int, fn func() error) error {
	wait := 50 * time.Millisecond
	for i := 1; ; i++ {
		err := fn()
		if err == nil || !errors.Is(err, ErrBusy) || i >= tries {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}
