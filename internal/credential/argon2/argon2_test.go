package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	xargon2 "golang.org/x/crypto/argon2"
)

// params is one random set of inputs for a cross-check.
type params struct {
	password, salt []byte
	time, memory   uint32
	threads        uint8
	keyLen         uint32
}

func (p params) String() string {
	return fmt.Sprintf("pw %d B, salt %d B, t=%d m=%d p=%d, key %d B",
		len(p.password), len(p.salt), p.time, p.memory, p.threads, p.keyLen)
}

// randomParams draws inputs across the edges x/crypto handles: empty
// password and salt, memory below the 8*threads floor and not a multiple
// of 4*threads, several lanes, keys shorter and longer than 64 bytes.
func randomParams(r *rand.Rand) params {
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	threads := uint8(1 + r.IntN(4))
	return params{
		password: bytesOf(r.IntN(40)),
		salt:     bytesOf(r.IntN(33)),
		time:     uint32(1 + r.IntN(3)),
		memory:   uint32(r.IntN(300)),
		threads:  threads,
		keyLen:   uint32(4 + r.IntN(125)),
	}
}

// dirty fills all of m's blocks with noise, as a computation with other
// inputs would leave them.
func dirty(m *Memory, r *rand.Rand) {
	for i := range m.r.blocks {
		for j := range m.r.blocks[i] {
			m.r.blocks[i][j] = r.Uint64()
		}
	}
}

// TestSameAsXCrypto: IDKey and Key of a Memory reused across a thousand
// random inputs, its blocks filled with noise before each, return what
// x/crypto's IDKey and Key return.
func TestSameAsXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m Memory
	n := 1000
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		p := randomParams(r)
		if m.r != nil {
			dirty(&m, r)
		}
		if got, want := m.IDKey(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen),
			xargon2.IDKey(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen); !bytes.Equal(got, want) {
			t.Fatalf("IDKey %d (%v): got %x, x/crypto %x", i, p, got, want)
		}
		dirty(&m, r)
		if got, want := m.Key(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen),
			xargon2.Key(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen); !bytes.Equal(got, want) {
			t.Fatalf("Key %d (%v): got %x, x/crypto %x", i, p, got, want)
		}
	}
}

// TestSameAsXCryptoDefaults: at Gatehouse's default parameters (19 MiB,
// t=2, p=1), hash after hash in one Memory.
func TestSameAsXCryptoDefaults(t *testing.T) {
	var m Memory
	for i := 0; i < 3; i++ {
		pw, salt := []byte(fmt.Sprintf("correct horse %d", i)), []byte(fmt.Sprintf("salt-of-16-bytes-%d", i))
		if got, want := m.IDKey(pw, salt, 2, 19456, 1, 32), xargon2.IDKey(pw, salt, 2, 19456, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("hash %d: got %x, x/crypto %x", i, got, want)
		}
	}
	if IDKey([]byte("pw"), []byte("somesalt"), 1, 64, 1, 32) == nil {
		t.Fatal("package IDKey returned nil")
	}
}

// TestMemoryReused: once a Memory has grown to a memory cost, a hash at
// that cost or below runs in the same blocks and allocates a few KiB of
// Go heap (the blake2b states and the key), not the cost; a larger cost
// grows it, and Release drops the blocks.
func TestMemoryReused(t *testing.T) {
	const kib = 4096 // 4 MiB
	pw, salt := []byte("password"), []byte("somesalt")
	var m Memory
	m.IDKey(pw, salt, 1, kib, 1, 32)
	if got := m.Size(); got != kib<<10 {
		t.Fatalf("Size after a %d-KiB hash: %d bytes", kib, got)
	}
	first := &m.r.blocks[0]
	if mmapped := m.r.mapped(); mmapped != (runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "freebsd") {
		t.Errorf("blocks mapped outside the heap: %v on %s", mmapped, runtime.GOOS)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 5
	for i := 0; i < runs; i++ {
		m.IDKey(pw, salt, 1, kib, 1, 32)
	}
	m.IDKey(pw, salt, 1, kib/2, 1, 32)
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / (runs + 1); per > 64<<10 {
		t.Fatalf("%d bytes allocated per hash in reused memory (the cost is %d)", per, kib<<10)
	}
	if got := m.Size(); got != kib<<10 || &m.r.blocks[0] != first {
		t.Fatalf("after smaller and equal hashes: Size %d bytes (want %d), same blocks %v", got, kib<<10, &m.r.blocks[0] == first)
	}
	if allocs := testing.AllocsPerRun(3, func() { m.IDKey(pw, salt, 1, kib, 1, 32) }); allocs > 64 {
		t.Fatalf("%v allocations per hash in reused memory", allocs)
	}
	m.IDKey(pw, salt, 1, 2*kib, 1, 32)
	if got := m.Size(); got != 2*kib<<10 {
		t.Fatalf("Size after a larger hash: %d bytes", got)
	}
	m.Release()
	if got := m.Size(); got != 0 {
		t.Fatalf("Size after Release: %d bytes", got)
	}
	if got, want := m.IDKey(pw, salt, 1, 64, 1, 32), xargon2.IDKey(pw, salt, 1, 64, 1, 32); !bytes.Equal(got, want) {
		t.Fatalf("after Release: got %x, x/crypto %x", got, want)
	}
}

// TestDroppedMemoryCollected: a Memory dropped without Release does not
// pin its region, so the region's cleanup (the unmapping) runs once the
// collector finds it unreachable.
func TestDroppedMemoryCollected(t *testing.T) {
	m := new(Memory)
	m.IDKey([]byte("pw"), []byte("somesalt"), 1, 1024, 1, 32)
	if !m.r.mapped() {
		t.Skip("blocks are in the Go heap on " + runtime.GOOS)
	}
	unmapped := make(chan struct{})
	runtime.AddCleanup(m.r, func(struct{}) { close(unmapped) }, struct{}{})
	m = nil
	for {
		runtime.GC()
		select {
		case <-unmapped:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestMemoriesConcurrent: Memories used from several goroutines at once,
// each by one, give x/crypto's answers (run with -race: lanes of one hash
// also run on goroutines of their own).
func TestMemoriesConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			var m Memory
			for i := 0; i < 25; i++ {
				p := randomParams(r)
				if got, want := m.IDKey(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen),
					xargon2.IDKey(p.password, p.salt, p.time, p.memory, p.threads, p.keyLen); !bytes.Equal(got, want) {
					t.Errorf("goroutine %d, hash %d (%v): got %x, x/crypto %x", g, i, p, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestPanicsAsXCrypto: zero time or threads panic, as in x/crypto.
func TestPanicsAsXCrypto(t *testing.T) {
	for _, c := range []struct {
		time    uint32
		threads uint8
	}{{0, 1}, {1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("t=%d p=%d: no panic", c.time, c.threads)
				}
			}()
			new(Memory).IDKey([]byte("pw"), []byte("somesalt"), c.time, 64, c.threads, 32)
		}()
	}
}

// TestLaneStartsCleared: after a computation the first two blocks of each
// lane, a function of the inputs' hash alone (with one pass never
// overwritten), are zero in the kept memory, and the next computation in
// that memory still matches x/crypto.
func TestLaneStartsCleared(t *testing.T) {
	var m Memory
	defer m.Release()
	for _, p := range []struct {
		time, memory uint32
		threads      uint8
	}{{1, 64, 1}, {1, 96, 3}, {2, 64, 2}} {
		pw, salt := []byte("password"), []byte("somesaltsomesalt")
		got := m.IDKey(pw, salt, p.time, p.memory, p.threads, 32)
		if want := xargon2.IDKey(pw, salt, p.time, p.memory, p.threads, 32); !bytes.Equal(got, want) {
			t.Fatalf("%+v: got %x, x/crypto %x", p, got, want)
		}
		lanes := p.memory / uint32(p.threads)
		for lane := uint32(0); lane < uint32(p.threads); lane++ {
			for j := uint32(0); j < 2; j++ {
				if m.r.blocks[lane*lanes+j] != (block{}) {
					t.Errorf("%+v: lane %d block %d left set after the computation", p, lane, j)
				}
			}
		}
	}
}
