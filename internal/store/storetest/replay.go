package storetest

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ReplayCache checks the contract of store.ReplayCache on c, for tenants
// a and other: a key is fresh once, a replay is refused until the ttl has
// passed, keys are isolated by tenant, concurrent claims of one key answer
// fresh exactly once, and bad arguments are errors. It runs on the wall
// clock (a cache may expire keys by its own clock, as Redis does) and
// sleeps for one short ttl.
func ReplayCache(t *testing.T, c store.ReplayCache, a, other store.TenantID) {
	ctx := context.Background()
	run := rand.Text()[:10] // keys of this run only: a shared cache may hold others
	const ttl = 300 * time.Millisecond
	claim := func(tn store.TenantID, key string, now time.Time) bool {
		t.Helper()
		fresh, err := c.Claim(ctx, tn, run+key, now, ttl)
		if err != nil {
			t.Fatalf("Claim(%s, %s): %v", tn, key, err)
		}
		return fresh
	}
	now := time.Now()
	if !claim(a, "k1", now) {
		t.Fatal("first claim of a key: refused, want fresh")
	}
	if claim(a, "k1", now) || claim(a, "k1", now.Add(ttl/3)) {
		t.Fatal("second claim of a key within its ttl: fresh, want refused")
	}
	if !claim(other, "k1", now) {
		t.Fatal("the same key under another tenant: refused, want fresh")
	}
	if !claim(a, "k2", now) {
		t.Fatal("another key: refused, want fresh")
	}
	time.Sleep(ttl + 100*time.Millisecond)
	now = time.Now()
	if !claim(a, "k1", now) {
		t.Fatal("a key claimed again after its ttl: refused, want fresh")
	}
	if claim(a, "k1", now) {
		t.Fatal("a key taken over after its ttl, claimed again: fresh, want refused")
	}

	// Concurrent claims of one key: exactly one is fresh.
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			ok, err := c.Claim(ctx, a, run+"race", now, time.Minute)
			if err != nil {
				t.Errorf("concurrent Claim: %v", err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if n := fresh.Load(); n != 1 {
		t.Fatalf("16 concurrent claims of one key: %d fresh, want exactly 1", n)
	}

	for _, bad := range []struct {
		tenant store.TenantID
		key    string
		ttl    time.Duration
	}{{"", "k", time.Second}, {a, "", time.Second}, {a, run + "k3", 0}, {a, run + "k3", -time.Second}} {
		if _, err := c.Claim(ctx, bad.tenant, bad.key, now, bad.ttl); err == nil {
			t.Errorf("Claim(%q, %q, ttl %v): no error", bad.tenant, bad.key, bad.ttl)
		}
	}
}
