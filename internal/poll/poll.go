// Package poll runs a background worker's loop: one round at once, then
// again at once while rounds find work, after an idle interval when they
// find none, or as soon as it is kicked. The mail queue's worker and the
// event dispatcher run on it.
package poll

import (
	"context"
	"time"
)

// Loop calls round until ctx ends. A round answers how much work it found;
// idle is the wait after a round that found none; kick, when not nil,
// ends a wait early; onErr is told of a round's error while ctx lives.
func Loop(ctx context.Context, idle time.Duration, kick <-chan struct{}, round func(context.Context) (int, error), onErr func(error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		n, err := round(ctx)
		if err != nil && ctx.Err() == nil {
			onErr(err)
		}
		next := idle
		if n > 0 {
			next = 0 // there may be more
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// OrDefault answers v when it is positive, else def.
func OrDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
