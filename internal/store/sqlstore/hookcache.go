package sqlstore

import (
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// hookTTL bounds how long a cached answer of HookFor is trusted without
// hearing of a change, for the same reasons as clientTTL: a lost
// notification, or a write by another process on the same SQLite file.
const hookTTL = time.Second

// hookCacheMax bounds the cache; past it, it starts over.
const hookCacheMax = 10000

type hookKey struct {
	tenant  store.TenantID
	trigger string
}

type hookEntry struct {
	h      *store.Hook // nil: the tenant has no hook of the trigger
	loaded time.Time
}

// hookCache holds HookFor's answers read outside transactions: every
// token a user gets asks for the tenant's pre_token hook, and most
// tenants have none, so "none" is cached too. It follows clientCache:
// any hook change of a tenant (on any node, changes.go) drops the
// tenant's entries, and gen keeps a read that began before a change from
// filling the cache after it.
type hookCache struct {
	mu  sync.Mutex
	m   map[hookKey]hookEntry
	gen uint64
}

func newHookCache(d *DB) *hookCache {
	c := &hookCache{m: map[hookKey]hookEntry{}}
	d.OnChange(c.changed)
	return c
}

func (c *hookCache) changed(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch ch.Kind {
	case store.ChangeHook, store.ChangeTenant:
		for k := range c.m {
			if k.tenant == ch.Tenant {
				delete(c.m, k)
			}
		}
	case store.ChangeClient, store.ChangeUser, store.ChangeKeys:
	default:
		clear(c.m)
	}
}

// get answers whether k is cached and, if so, a copy of the hook (nil for
// none); otherwise the generation a read from the database hands to put.
func (c *hookCache) get(k hookKey) (*store.Hook, bool, uint64) {
	c.mu.Lock()
	e, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if !ok || time.Since(e.loaded) >= hookTTL {
		return nil, false, gen
	}
	return copyHook(e.h), true, gen
}

// put caches a copy of h (nil: none) unless a change came since gen.
func (c *hookCache) put(k hookKey, h *store.Hook, gen uint64) {
	n := copyHook(h)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= hookCacheMax {
		clear(c.m)
	}
	c.m[k] = hookEntry{h: n, loaded: time.Now()}
}

// copyHook deep-copies h, so no caller reaches a cached hook.
func copyHook(h *store.Hook) *store.Hook {
	if h == nil {
		return nil
	}
	n := *h
	n.AllowedClaims = slices.Clone(h.AllowedClaims)
	n.SealedSecret = slices.Clone(h.SealedSecret)
	return &n
}
