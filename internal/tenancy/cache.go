package tenancy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// slugTTL is how long ResolveSlug trusts a looked-up tenant. Protocol
// endpoints resolve the tenant on every request; a deleted or renamed
// tenant is seen within this long on every node.
const slugTTL = 2 * time.Second

// slugCacheMax bounds the cache: past it, it starts over (a flood of
// unknown slugs cannot grow memory; unknown slugs are not cached anyway).
const slugCacheMax = 10000

type slugEntry struct {
	t       *store.Tenant
	expires time.Time
}

type slugCache struct {
	mu sync.Mutex
	m  map[string]slugEntry
	// hits and misses count lookups, for the metrics.
	hits, misses atomic.Int64
	// feed subscribes, once, to the store's changes (store.ChangeFeed), so
	// a tenant changed on any node is dropped at once, slugTTL staying as
	// the safety net.
	feed sync.Once
}

// SlugCacheStats answers ResolveSlug's cache hits and misses so far.
func (s *Service) SlugCacheStats() (hits, misses int64) {
	return s.slugs.hits.Load(), s.slugs.misses.Load()
}

func (c *slugCache) changed(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ch.Kind {
	case store.ChangeTenant:
		for slug, e := range c.m {
			if e.t.ID == ch.Tenant {
				delete(c.m, slug)
			}
		}
	case store.ChangeAll:
		clear(c.m)
	}
}

// ResolveSlug finds a tenant by slug for the protocol endpoints (OIDC,
// hosted pages), from a short-lived cache. The management API uses
// Resolve, which always reads the database.
func (s *Service) ResolveSlug(ctx context.Context, slug string) (*store.Tenant, error) {
	s.slugs.feed.Do(func() {
		if f, ok := s.Store.(store.ChangeFeed); ok {
			f.OnChange(s.slugs.changed)
		}
	})
	now := s.Now()
	s.slugs.mu.Lock()
	e, ok := s.slugs.m[slug]
	s.slugs.mu.Unlock()
	if ok && now.Before(e.expires) {
		s.slugs.hits.Add(1)
		return e.t, nil
	}
	s.slugs.misses.Add(1)
	if len(slug) > 40 {
		return nil, store.ErrNotFound
	}
	t, err := s.Store.Tenants().GetTenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.Status == store.TenantDeleted { // a deleted tenant has no issuer
		return nil, store.ErrNotFound
	}
	s.slugs.mu.Lock()
	if s.slugs.m == nil || len(s.slugs.m) >= slugCacheMax {
		s.slugs.m = map[string]slugEntry{}
	}
	s.slugs.m[slug] = slugEntry{t: t, expires: now.Add(slugTTL)}
	s.slugs.mu.Unlock()
	return t, nil
}
