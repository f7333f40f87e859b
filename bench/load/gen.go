package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Hard caps. Flags may ask for more; Config.clamp never gives it, so a
// typo cannot turn a benchmark into a long flood.
const (
	maxDuration    = 5 * time.Minute
	maxRequests    = 1_000_000
	maxConcurrency = 256
	maxWarmup      = 30 * time.Second
	maxTimeout     = time.Minute
)

// Config bounds one run of the generator, in count and in time.
type Config struct {
	// Duration is how long new iterations start; in-flight ones finish.
	Duration time.Duration
	// MaxRequests is how many iterations start at most.
	MaxRequests int
	// Concurrency is the number of workers, each running one iteration
	// at a time (a closed loop: a slow server slows the load).
	Concurrency int
	// Timeout bounds one iteration; Run cancels what runs past
	// Duration+Timeout, so a run lasts at most that long.
	Timeout time.Duration
	// Rate, when positive, paces the starts: iteration i starts no earlier
	// than i/Rate seconds after the first, so the load is an open loop at
	// that rate as long as the workers keep up.
	Rate float64
}

// clamp returns c within the hard caps, with defaults for zero values.
func (c Config) clamp() Config {
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	c.Duration = min(c.Duration, maxDuration)
	if c.MaxRequests <= 0 {
		c.MaxRequests = maxRequests
	}
	c.MaxRequests = min(c.MaxRequests, maxRequests)
	c.Concurrency = min(max(c.Concurrency, 1), maxConcurrency)
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	c.Timeout = min(c.Timeout, maxTimeout)
	c.Rate = max(c.Rate, 0)
	return c
}

// Op is one iteration: one request, or one whole flow of several. It
// returns an error when the answer was not the expected one.
type Op func(ctx context.Context) error

// Result is what one run measured.
type Result struct {
	// Requests is the number of iterations that finished, Errors how many
	// of them failed.
	Requests, Errors int
	// Elapsed runs from the first start to the last finish.
	Elapsed time.Duration
	// Latencies are the successful iterations' durations, sorted.
	Latencies []time.Duration
	// FirstErr is the first failure, to tell what went wrong.
	FirstErr error
}

// Rate is successful iterations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Percentile is the nearest-rank percentile p (0 < p <= 100) of the
// successful iterations' latencies, 0 when there were none.
func (r Result) Percentile(p float64) time.Duration { return percentile(r.Latencies, p) }

// percentile is the nearest-rank percentile of sorted: the smallest value
// with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// failed marks a latency slot whose iteration failed.
const failed = time.Duration(-1)

// skipped marks a slot a paced worker claimed but did not run.
const skipped = time.Duration(-2)

// Run calls op from cfg.Concurrency workers until cfg.MaxRequests
// iterations have started or cfg.Duration has passed, whichever comes
// first, and waits for the started ones. Every latency goes into a slice
// allocated up front, so recording costs no allocation and no lock; it is
// sorted once at the end.
func Run(ctx context.Context, cfg Config, op Op) Result {
	cfg = cfg.clamp()
	lat := make([]time.Duration, cfg.MaxRequests)
	var (
		next     atomic.Int64 // the next slot to claim
		errs     atomic.Int64
		skips    atomic.Int64
		firstErr atomic.Pointer[error]
	)
	start := time.Now()
	stopAt := start.Add(cfg.Duration)
	// The hard stop: iterations still running this long after the last
	// start are cancelled and count as errors.
	ctx, cancel := context.WithDeadline(ctx, stopAt.Add(cfg.Timeout))
	defer cancel()
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(stopAt) {
				i := next.Add(1) - 1
				if i >= int64(len(lat)) {
					return
				}
				if cfg.Rate > 0 {
					at := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
					if !at.Before(stopAt) || !sleepUntil(ctx, at) {
						lat[i] = skipped
						skips.Add(1)
						return
					}
				}
				octx, ocancel := context.WithTimeout(ctx, cfg.Timeout)
				t0 := time.Now()
				err := op(octx)
				d := time.Since(t0)
				ocancel()
				if err != nil {
					lat[i] = failed
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Errors: int(errs.Load())}
	// Every claimed slot below len(lat) was run to the end, except those a
	// paced worker claimed and gave up (due past the stop).
	claimed := int(min(next.Load(), int64(len(lat))))
	res.Requests = claimed - int(skips.Load())
	ok := slices.DeleteFunc(lat[:claimed], func(d time.Duration) bool { return d == failed || d == skipped })
	slices.Sort(ok)
	res.Latencies = ok
	if p := firstErr.Load(); p != nil {
		res.FirstErr = *p
	}
	return res
}

// sleepUntil waits until t, or answers false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
