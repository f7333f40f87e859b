package replay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit/redistest"
	"github.com/gatehouse-id/gatehouse/internal/replay"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestContract: each cache keeps the contract of store.ReplayCache.
func TestContract(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { storetest.ReplayCache(t, &replay.Memory{}, "ta", "tb") })
	t.Run("Shared", func(t *testing.T) {
		storetest.ReplayCache(t, &replay.Shared{Front: &replay.Memory{}, Back: &replay.Memory{}}, "ta", "tb")
	})
	t.Run("Redis", func(t *testing.T) {
		storetest.ReplayCache(t, &replay.Redis{C: redisClient(t)}, "ta", "tb")
	})
}

func redisClient(t *testing.T) *redis.Client {
	opt, err := redis.ParseURL(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMemoryBound: a full cache refuses to decide (ErrFull) rather than
// forget an unexpired key, and frees the room of expired keys.
func TestMemoryBound(t *testing.T) {
	ctx := context.Background()
	m := &replay.Memory{Max: 3}
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	for i, k := range []string{"a", "b", "c"} {
		if fresh, err := m.Claim(ctx, "t", k, now.Add(time.Duration(i)*time.Second), 10*time.Second); err != nil || !fresh {
			t.Fatalf("claim %s: %v %v", k, fresh, err)
		}
	}
	if _, err := m.Claim(ctx, "t", "d", now.Add(5*time.Second), 10*time.Second); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("a fourth key in a cache of 3: %v, want ErrFull", err)
	}
	if fresh, err := m.Claim(ctx, "t", "a", now.Add(5*time.Second), 10*time.Second); err != nil || fresh {
		t.Fatalf("a held key while full: fresh=%v %v, want refused", fresh, err)
	}
	// "a" expires at +10 s: its room goes to "d"; "b" and "c" stay refused.
	later := now.Add(10 * time.Second)
	if fresh, err := m.Claim(ctx, "t", "d", later, 10*time.Second); err != nil || !fresh {
		t.Fatalf("a key once one expired: %v %v, want fresh", fresh, err)
	}
	for _, k := range []string{"b", "c", "d"} {
		if fresh, err := m.Claim(ctx, "t", k, later, 10*time.Second); err != nil || fresh {
			t.Errorf("%s after the sweep: fresh=%v %v, want refused", k, fresh, err)
		}
	}
	if n := m.Len(); n != 3 {
		t.Errorf("held %d keys, want 3", n)
	}
	// Everything expired: the cache empties as it is used.
	if fresh, err := m.Claim(ctx, "t", "e", now.Add(time.Hour), time.Second); err != nil || !fresh || m.Len() != 1 {
		t.Fatalf("an hour later: fresh=%v %v, %d held; want fresh and 1 held", fresh, err, m.Len())
	}
}

// counting is a store.ReplayCache that counts the claims reaching it.
type counting struct {
	store.ReplayCache
	n int
}

func (c *counting) Claim(ctx context.Context, tenant store.TenantID, key string, now time.Time, ttl time.Duration) (bool, error) {
	c.n++
	return c.ReplayCache.Claim(ctx, tenant, key, now, ttl)
}

// failing is a store.ReplayCache that is down.
type failing struct{}

func (failing) Claim(context.Context, store.TenantID, string, time.Time, time.Duration) (bool, error) {
	return false, errors.New("down")
}

// TestShared: the front refuses a key this node accepted without asking
// the shared cache; a key another node accepted is refused by the shared
// cache; an error of the shared cache is an error, never a fresh key.
func TestShared(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	back := &counting{ReplayCache: &replay.Memory{}}
	a := &replay.Shared{Front: &replay.Memory{}, Back: back}
	b := &replay.Shared{Front: &replay.Memory{}, Back: back}
	if fresh, err := a.Claim(ctx, "t", "k", now, time.Minute); err != nil || !fresh {
		t.Fatalf("node A, first claim: %v %v", fresh, err)
	}
	if fresh, err := a.Claim(ctx, "t", "k", now, time.Minute); err != nil || fresh || back.n != 1 {
		t.Fatalf("node A, replay: fresh=%v %v, %d claims reached the shared cache; want refused by the front (1)", fresh, err, back.n)
	}
	if fresh, err := b.Claim(ctx, "t", "k", now, time.Minute); err != nil || fresh || back.n != 2 {
		t.Fatalf("node B, replay: fresh=%v %v, %d shared claims; want refused by the shared cache (2)", fresh, err, back.n)
	}
	down := &replay.Shared{Front: &replay.Memory{}, Back: failing{}}
	if fresh, err := down.Claim(ctx, "t", "k2", now, time.Minute); err == nil || fresh {
		t.Fatalf("shared cache down: fresh=%v %v, want an error", fresh, err)
	}
	// The front remembers what its node accepted when the shared cache forgets.
	lost := &counting{ReplayCache: &replay.Memory{}}
	c := &replay.Shared{Front: &replay.Memory{}, Back: lost}
	if fresh, _ := c.Claim(ctx, "t", "k3", now, time.Minute); !fresh {
		t.Fatal("first claim refused")
	}
	lost.ReplayCache = &replay.Memory{} // the shared cache restarted empty
	if fresh, err := c.Claim(ctx, "t", "k3", now, time.Minute); err != nil || fresh {
		t.Fatalf("replay after the shared cache lost its keys: fresh=%v %v, want refused by the front", fresh, err)
	}
}
