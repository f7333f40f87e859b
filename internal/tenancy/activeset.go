package tenancy

import (
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// activeSetMax bounds the set; past it, it starts over.
const activeSetMax = 100000

type activeKey struct {
	tenant      store.TenantID
	month, user string
}

// activeSet is a set of users known to be counted active in a month (see
// Meter.MarkActiveNow). Its zero value is empty and ready; it holds one
// month at a time.
type activeSet struct {
	mu    sync.Mutex
	month string
	m     map[activeKey]struct{}
}

func (s *activeSet) has(k activeKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	return ok
}

func (s *activeSet) add(k activeKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || s.month != k.month || len(s.m) >= activeSetMax {
		s.m, s.month = map[activeKey]struct{}{}, k.month
	}
	s.m[k] = struct{}{}
}
