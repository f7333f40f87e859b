package credential

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHashConcurrencyBounded: however many callers hash at once, no more
// than cap(hashSlots) argon2id computations run together.
func TestHashConcurrencyBounded(t *testing.T) {
	h, err := NewHasher(Params{MemoryKiB: 2048, Iterations: 2, Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int32
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := hashing.Load(); n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < 6*cap(hashSlots); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash("correct horse battery staple"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if p := int(peak.Load()); p > cap(hashSlots) || p < 1 {
		t.Fatalf("peak concurrent hashes %d, bound %d", p, cap(hashSlots))
	}
}
