package sqlstore

import (
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientTTL bounds how long a cached client is trusted without hearing
// of a change: the safety net for a lost notification, and for a write by
// another process on the same SQLite file (the CLI), which this process
// cannot hear of, so that such a change too takes effect within a second.
// Notifications make changes seen at once (changes.go).
const clientTTL = time.Second

// clientCacheMax bounds the cache; past it, it starts over.
const clientCacheMax = 10000

type clientKey struct {
	tenant store.TenantID
	id     string
}

type clientEntry struct {
	c      *store.Client
	loaded time.Time
}

// clientCache holds clients read outside transactions, the token path's
// most frequent read. Only found clients are cached. gen counts changes:
// a read that began before a change may not fill the cache after it, so a
// stale row read concurrently with an update never outlives the update.
type clientCache struct {
	mu  sync.Mutex
	m   map[clientKey]clientEntry
	gen uint64
}

func newClientCache(d *DB) *clientCache {
	c := &clientCache{m: map[clientKey]clientEntry{}}
	d.OnChange(c.changed)
	return c
}

func (c *clientCache) changed(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch ch.Kind {
	case store.ChangeClient:
		delete(c.m, clientKey{ch.Tenant, ch.ID})
	case store.ChangeTenant:
		for k := range c.m {
			if k.tenant == ch.Tenant {
				delete(c.m, k)
			}
		}
	case store.ChangeKeys, store.ChangeHook:
	default:
		clear(c.m)
	}
}

// get answers a copy of the cached client, or the generation a read from
// the database must hand to put.
func (c *clientCache) get(k clientKey) (*store.Client, uint64) {
	c.mu.Lock()
	e, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if !ok || time.Since(e.loaded) >= clientTTL {
		return nil, gen
	}
	n := *e.c
	normClient(&n) // deep copies: a caller cannot reach the cached one
	return &n, gen
}

// put caches a copy of cl unless a change came since gen.
func (c *clientCache) put(k clientKey, cl *store.Client, gen uint64) {
	n := *cl
	normClient(&n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= clientCacheMax {
		clear(c.m)
	}
	c.m[k] = clientEntry{c: &n, loaded: time.Now()}
}
