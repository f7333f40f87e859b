// Package replay keeps what may be used only once, such as a DPoP proof's
// jti, off the database's write path: store.ReplayCache in this process's
// memory (Memory: right for a deployment of one node, as SQLite is), in
// Redis (Redis), or shared by every node with a Memory in front (Shared).
package replay

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultMax is Memory's default bound: two minutes' keys (a DPoP jti's
// lifetime) at 8,700 claims a second, under 100 MiB when full.
const DefaultMax = 1 << 20

// ErrFull is Claim's answer when Memory holds Max unexpired keys: the
// claim is not decided, and the caller refuses.
var ErrFull = errors.New("replay: memory cache is full")

// Memory is a store.ReplayCache in this process's memory. It holds at most
// Max keys (DefaultMax when 0), each as a 16-byte SHA-256 prefix of the
// tenant and key, and deletes expired keys as it goes: each claim first
// drops those at the head of its queue (in claim order, so with one ttl in
// expiry order too). When Max unexpired keys are held a claim answers
// ErrFull rather than forget one early.
type Memory struct {
	Max int

	mu   sync.Mutex
	seen map[[16]byte]int64 // key hash -> expiry, Unix nanoseconds
	q    []queued           // claims in order; q[head:] are live
	head int
}

type queued struct {
	k   [16]byte
	exp int64
}

var _ store.ReplayCache = (*Memory)(nil)

func hashKey(tenant store.TenantID, key string) [16]byte {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [32]byte
	var k [16]byte
	copy(k[:], h.Sum(sum[:0]))
	return k
}

func validClaim(tenant store.TenantID, key string, ttl time.Duration) error {
	if tenant == "" || key == "" || ttl <= 0 {
		return errors.New("replay: a claim needs a tenant, a key and a positive ttl")
	}
	return nil
}

// Claim implements store.ReplayCache.
func (m *Memory) Claim(_ context.Context, tenant store.TenantID, key string, now time.Time, ttl time.Duration) (bool, error) {
	if err := validClaim(tenant, key, ttl); err != nil {
		return false, err
	}
	k, at := hashKey(tenant, key), now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(at)
	exp, held := m.seen[k]
	if held && exp > at {
		return false, nil
	}
	max := m.Max
	if max <= 0 {
		max = DefaultMax
	}
	if !held && len(m.seen) >= max {
		return false, ErrFull
	}
	if m.seen == nil {
		m.seen = map[[16]byte]int64{}
	}
	exp = now.Add(ttl).UnixNano()
	m.seen[k] = exp
	m.q = append(m.q, queued{k, exp})
	return true, nil
}

// seenAt answers whether key is held unexpired at now.
func (m *Memory) seenAt(tenant store.TenantID, key string, now time.Time) bool {
	k := hashKey(tenant, key)
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.seen[k]
	return ok && exp > now.UnixNano()
}

// Len answers how many keys are held, expired ones not yet dropped
// included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

// sweep drops the expired keys at the head of the queue; a key claimed
// again after it expired has a later entry, and only that one deletes it.
// The queue's array is reused once its dead head is half of it.
func (m *Memory) sweep(at int64) {
	for m.head < len(m.q) && m.q[m.head].exp <= at {
		e := m.q[m.head]
		if exp, ok := m.seen[e.k]; ok && exp == e.exp {
			delete(m.seen, e.k)
		}
		m.head++
	}
	if m.head == len(m.q) {
		m.q, m.head = m.q[:0], 0
	} else if m.head > 1024 && m.head*2 > len(m.q) {
		n := copy(m.q, m.q[m.head:])
		m.q, m.head = m.q[:n], 0
	}
}

// Shared is a store.ReplayCache every node shares (Back: Redis, or the
// database's table) with this node's Memory in front: a key this node has
// accepted is refused again without a round trip, and stays refused here
// if the shared cache loses it (a Redis or PostgreSQL restart). Back
// decides every fresh claim, so a key is fresh once across the nodes.
type Shared struct {
	Front *Memory
	Back  store.ReplayCache
}

var _ store.ReplayCache = (*Shared)(nil)

// Claim implements store.ReplayCache. The front is told only of keys Back
// answered fresh; a full front is no error, Back has decided.
func (s *Shared) Claim(ctx context.Context, tenant store.TenantID, key string, now time.Time, ttl time.Duration) (bool, error) {
	if err := validClaim(tenant, key, ttl); err != nil {
		return false, err
	}
	if s.Front.seenAt(tenant, key, now) {
		return false, nil
	}
	fresh, err := s.Back.Claim(ctx, tenant, key, now, ttl)
	if err != nil || !fresh {
		return false, err
	}
	if _, err := s.Front.Claim(ctx, tenant, key, now, ttl); err != nil && !errors.Is(err, ErrFull) {
		return false, err
	}
	return true, nil
}
