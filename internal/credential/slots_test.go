package credential

import (
	"bytes"
	"encoding/base64"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xargon2 "golang.org/x/crypto/argon2"

	"github.com/gatehouse-id/gatehouse/internal/credential/argon2"
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

// slotSizes answers the bytes of working memory each hash slot holds,
// taking every slot for the moment (no hash may run meanwhile).
func slotSizes() []int {
	ms := make([]*argon2.Memory, 0, cap(hashSlots))
	for range cap(hashSlots) {
		ms = append(ms, <-hashSlots)
	}
	sizes := make([]int, len(ms))
	for i, m := range ms {
		sizes[i] = m.Size()
		hashSlots <- m
	}
	return sizes
}

// TestHashReusesSlotMemory: once every slot has run a hash, Hash and
// Verify allocate a few KiB each, not their memory cost; and what they
// compute is what x/crypto computes.
func TestHashReusesSlotMemory(t *testing.T) {
	p := Params{MemoryKiB: 4096, Iterations: 1, Parallelism: 1}
	h := newHasher(t, p)
	const pw = "correct horse battery staple"
	enc := ""
	// The slots go round in turn: one hash each grows them all.
	for range cap(hashSlots) {
		var err error
		if enc, err = h.Hash(pw); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range slotSizes() {
		if s < int(p.MemoryKiB)<<10 {
			t.Fatalf("slot %d holds %d bytes after a %d-KiB hash", i, s, p.MemoryKiB)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 8
	for range runs / 2 {
		if _, err := h.Hash(pw); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := h.Verify(enc, pw); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 128<<10 {
		t.Fatalf("%d bytes allocated per hash (memory cost %d KiB)", per, p.MemoryKiB)
	}
	d, err := decodePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if want := xargon2.IDKey([]byte(pw), d.salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen); !bytes.Equal(d.key, want) {
		t.Fatalf("Hash's key %x, x/crypto's %x", d.key, want)
	}
}

// TestSlotDropsLargerMemory: a stored hash with a memory cost above every
// Hasher's verifies, and its blocks are not kept in the slot after.
func TestSlotDropsLargerMemory(t *testing.T) {
	h := newHasher(t, testParams)
	const pw = "imported elsewhere"
	big := Params{MemoryKiB: retainKiB.Load() + 1024, Iterations: 1, Parallelism: 1}
	salt := bytes.Repeat([]byte{9}, saltLen)
	argon2i := "$argon2i$v=19$m=" + strconv.Itoa(int(big.MemoryKiB)) + ",t=1,p=1$" +
		base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(xargon2.Key([]byte(pw), salt, 1, big.MemoryKiB, 1, keyLen))
	for _, enc := range []string{encodePHC(big, salt, xargon2.IDKey([]byte(pw), salt, 1, big.MemoryKiB, 1, keyLen)), argon2i} {
		if ok, rehash, err := h.Verify(enc, pw); !ok || !rehash || err != nil {
			t.Fatalf("Verify(%.20s…) = %v, %v, %v; want true, true, nil", enc, ok, rehash, err)
		}
		for i, s := range slotSizes() {
			if s > int(retainKiB.Load())<<10 {
				t.Fatalf("slot %d keeps %d bytes after a %d-KiB hash (bound %d KiB)", i, s, big.MemoryKiB, retainKiB.Load())
			}
		}
	}
}
