// Package memo holds what a node has learnt from the database and that
// stays true once learnt (a client recorded on a session, a user counted
// active in a month), so the database is asked once per node: a bounded
// set, safe for concurrent use.
package memo

import "sync"

// Set is a set of keys of at most Max entries (a zero Max is 10,000);
// adding past it starts over. Its zero value is empty and ready.
type Set[K comparable] struct {
	Max int

	mu sync.Mutex
	m  map[K]struct{}
}

// Has reports whether k was added (and not dropped since by starting over).
func (s *Set[K]) Has(k K) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	return ok
}

// Add adds k.
func (s *Set[K]) Add(k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	max := s.Max
	if max <= 0 {
		max = 10000
	}
	if s.m == nil || len(s.m) >= max {
		s.m = map[K]struct{}{}
	}
	s.m[k] = struct{}{}
}
