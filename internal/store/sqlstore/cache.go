package sqlstore

import (
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// cacheTTL bounds how long a cached client or user is trusted without
// hearing of a change: the safety net for a lost notification, and for a
// write by another process on the same SQLite file (the CLI), which this
// process cannot hear of, so that such a change too takes effect within a
// second. Notifications make changes seen at once (changes.go).
const cacheTTL = time.Second

// clientCacheMax, userCacheMax and hookCacheMax bound the caches; past
// it, a cache starts over.
const (
	clientCacheMax = 10000
	userCacheMax   = 10000
	hookCacheMax   = 10000
)

// recordKey names one record of a tenant.
type recordKey struct {
	tenant store.TenantID
	id     string
}

type cacheEntry[V any] struct {
	v      V
	loaded time.Time
}

// recordCache holds records read outside transactions for the token path:
// clients (GetClient), users (GetUserCached) and a tenant's hook of a
// trigger (HookFor, where nil, "none", is cached too). gen counts changes:
// a read that began before a change may not fill the cache after it, so a
// stale row read concurrently with an update never outlives the update.
type recordCache[V any] struct {
	kind string // the store.Change kind that names one of these records
	// byTenant: a change of kind drops every entry of its tenant, as its
	// ID is not the key the cache is read by (a hook's ID, not its trigger).
	byTenant bool
	max      int           // entries kept at most
	ttl      time.Duration // cacheTTL; longer in tests that prove the notifications suffice
	clone    func(V) V     // a deep copy: no caller reaches a cached record
	mu       sync.Mutex    // guards m and gen
	m        map[recordKey]cacheEntry[V]
	gen      uint64
}

func newRecordCache[V any](d *DB, kind string, max int, clone func(V) V) *recordCache[V] {
	c := &recordCache[V]{kind: kind, max: max, ttl: cacheTTL, clone: clone, m: map[recordKey]cacheEntry[V]{}}
	d.OnChange(c.changed)
	return c
}

func newClientCache(d *DB) *recordCache[*store.Client] {
	return newRecordCache(d, store.ChangeClient, clientCacheMax, func(c *store.Client) *store.Client {
		n := *c
		normClient(&n) // deep copies
		return &n
	})
}

// newHookCache caches HookFor's answers by tenant and trigger: every token
// a user gets asks for the tenant's pre_token hook, and most tenants have
// none. Any hook change of a tenant drops the tenant's entries.
func newHookCache(d *DB) *recordCache[*store.Hook] {
	c := newRecordCache(d, store.ChangeHook, hookCacheMax, func(h *store.Hook) *store.Hook {
		if h == nil {
			return nil
		}
		n := *h
		n.AllowedClaims = slices.Clone(h.AllowedClaims)
		n.SealedSecret = slices.Clone(h.SealedSecret)
		return &n
	})
	c.byTenant = true
	return c
}

// newUserCache caches what the token path reads of a user: never the
// password hash, nor the last login (RecordLogin does not notify).
func newUserCache(d *DB) *recordCache[*store.User] {
	return newRecordCache(d, store.ChangeUser, userCacheMax, func(u *store.User) *store.User {
		n := *u
		n.PasswordHash, n.LastLoginAt = "", nil
		n.Attributes = cloneBytes(u.Attributes)
		return &n
	})
}

func (c *recordCache[V]) changed(ch store.Change) {
	switch ch.Kind {
	case c.kind, store.ChangeTenant:
	case store.ChangeClient, store.ChangeUser, store.ChangeKeys, store.ChangeHook:
		return // records of another kind
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch {
	case ch.Kind == c.kind && !c.byTenant:
		delete(c.m, recordKey{ch.Tenant, ch.ID})
	case ch.Kind == c.kind, ch.Kind == store.ChangeTenant:
		for k := range c.m {
			if k.tenant == ch.Tenant {
				delete(c.m, k)
			}
		}
	default:
		clear(c.m)
	}
}

// get answers a copy of the cached record (ok true), or the generation a
// read from the database must hand to put.
func (c *recordCache[V]) get(k recordKey) (v V, ok bool, gen uint64) {
	c.mu.Lock()
	e, found := c.m[k]
	gen = c.gen
	c.mu.Unlock()
	if !found || time.Since(e.loaded) >= c.ttl {
		return v, false, gen
	}
	return c.clone(e.v), true, gen
}

// put caches a copy of v unless a change came since gen.
func (c *recordCache[V]) put(k recordKey, v V, gen uint64) {
	n := c.clone(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = cacheEntry[V]{v: n, loaded: time.Now()}
}
