package ratelimit

import (
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// leaseMax bounds the leases a node holds; past it they start over (a
// lost lease only refuses a little early, it never admits more).
const leaseMax = 10000

// lease is a run of a bucket's requests a node took from the shared
// bucket in one write, to admit locally until it runs out or expires.
type lease struct {
	left    int
	base    int // what the shared bucket held after the lease was taken
	expires time.Time
	reset   time.Duration // the Reset of the take that granted it
	quota   int
	// refusedUntil is when the shared bucket can next admit, as a refused
	// take showed: a bucket's TAT only ever moves forward, so until then
	// every take would be refused too and is answered here, exactly.
	refusedUntil time.Time
}

// leases is the in-process fast path: when a take shows the bucket at
// least half full, the next take claims a twentieth of the burst at once,
// and the requests after it are admitted here without a store write.
// Tokens are claimed from the shared bucket before they are used, so over
// any period the nodes together admit at most what the bucket allowed
// plus the leases they held at its start: a twentieth of the burst per
// node. A lease expires after one window, so a changed limit applies
// within it.
type leases struct {
	mu sync.Mutex
	m  map[leaseKey]*lease
}

type leaseKey struct {
	tenant store.TenantID
	bucket string
}

// use decides one request of (t, bucket) locally when it can: admitted
// from a live lease, else refused while a refusal holds.
func (ls *leases) use(k leaseKey, now time.Time) (Decision, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.m[k]
	switch {
	case l == nil:
		return Decision{}, false
	case l.left > 0 && now.Before(l.expires):
		l.left--
		return Decision{OK: true, Quota: l.quota, Remaining: l.base + l.left, Reset: l.reset}, true
	case now.Before(l.refusedUntil):
		return Decision{Quota: l.quota, Reset: l.refusedUntil.Sub(now)}, true
	}
	return Decision{}, false
}

// refuse remembers that the shared bucket of (t, bucket) admits nothing
// before now+d.Reset; a live lease's tokens stay usable.
func (ls *leases) refuse(k leaseKey, d Decision, now time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil || len(ls.m) >= leaseMax {
		ls.m = map[leaseKey]*lease{}
	}
	l := ls.m[k]
	if l == nil {
		l = &lease{quota: d.Quota}
		ls.m[k] = l
	}
	l.refusedUntil = now.Add(d.Reset)
}

// grant keeps n requests of a take at now for local use, for one window.
func (ls *leases) grant(k leaseKey, n int, d Decision, now time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil || len(ls.m) >= leaseMax {
		ls.m = map[leaseKey]*lease{}
	}
	// Concurrent requests may each take a lease: the tokens of a live one
	// are kept, not dropped (they are already spent in the shared bucket).
	old := ls.m[k]
	if old != nil && old.left > 0 && now.Before(old.expires) {
		n += old.left
	}
	ls.m[k] = &lease{left: n, base: d.Remaining, expires: now.Add(window), reset: d.Reset, quota: d.Quota}
	if old != nil {
		ls.m[k].refusedUntil = old.refusedUntil
	}
}

// leaseSize answers how many requests one take claims from a bucket of
// burst b: a divisor of b no more than a twentieth of it (so a take of n
// intervals fits the same burst exactly), or 1 (no fast path).
func leaseSize(b int) int {
	for n := b / 20; n > 1; n-- {
		if b%n == 0 {
			return n
		}
	}
	return 1
}
