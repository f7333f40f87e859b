package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RateBuckets checks the contract of store.RateBuckets on b, for tenants a
// and other (each must be accepted by b): burst, refill, that a refusal
// changes nothing, isolation between tenants and buckets, and that
// concurrent takes admit exactly the burst.
func RateBuckets(t *testing.T, b store.RateBuckets, a, other store.TenantID) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const step = 100 * time.Millisecond
	take := func(tn store.TenantID, bucket string, at time.Time) (bool, time.Time) {
		t.Helper()
		ok, tat, err := b.Take(ctx, tn, bucket, at, step, 5)
		if err != nil {
			t.Fatalf("Take(%s, %s): %v", tn, bucket, err)
		}
		return ok, tat
	}
	for i := range 5 {
		ok, tat := take(a, "token", now)
		if want := now.Add(time.Duration(i+1) * step); !ok || !tat.Equal(want) {
			t.Fatalf("take %d of a burst of 5: ok=%v tat=%v, want admitted with tat %v", i+1, ok, tat, want)
		}
	}
	for range 3 {
		if ok, tat := take(a, "token", now); ok || !tat.Equal(now.Add(5*step)) {
			t.Fatalf("take past the burst: ok=%v tat=%v, want refused with tat unchanged at +500ms", ok, tat)
		}
	}
	// Isolation: the other tenant and the other bucket are full.
	if ok, _ := take(other, "token", now); !ok {
		t.Fatal("another tenant's bucket was drained by this one")
	}
	if ok, _ := take(a, "api", now); !ok {
		t.Fatal("another bucket of the same tenant was drained")
	}
	// One interval later exactly one more fits.
	later := now.Add(step)
	if ok, _ := take(a, "token", later); !ok {
		t.Fatal("one interval later: refused, want one request admitted")
	}
	if ok, _ := take(a, "token", later); ok {
		t.Fatal("one interval later: a second request admitted, want refused")
	}
	// Idle for longer than the burst: full again, not more.
	idle := now.Add(10 * time.Second)
	for i := range 6 {
		ok, _ := take(a, "token", idle)
		if ok != (i < 5) {
			t.Fatalf("after idling, take %d: ok=%v, want %v", i+1, ok, i < 5)
		}
	}

	// Concurrent takes at one instant admit exactly the burst.
	const burst, takers = 8, 40
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
		errs     []error
	)
	for range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := b.Take(ctx, a, "scim", now, step, burst)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				admitted++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent takes: %v", errs[0])
	}
	if admitted != burst {
		t.Fatalf("concurrent takes admitted %d, want exactly the burst %d", admitted, burst)
	}
}
