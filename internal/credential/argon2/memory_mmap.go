//go:build linux || darwin || freebsd

package argon2

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// region is n blocks in anonymous private memory mapped from the kernel,
// outside the Go heap. The kernel zeroes the pages on first touch; after
// that they stay resident for the Memory's next computations.
type region struct {
	blocks  []block
	raw     []byte
	cleanup runtime.Cleanup
}

// newRegion maps n blocks, or, should the mapping fail, allocates them in
// the Go heap (as x/crypto does).
func newRegion(n int) *region {
	raw, err := unix.Mmap(-1, 0, n*blockLength*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return &region{blocks: make([]block, n)}
	}
	r := &region{blocks: unsafe.Slice((*block)(unsafe.Pointer(&raw[0])), n), raw: raw}
	// A Memory dropped without Release must not leak its mapping.
	r.cleanup = runtime.AddCleanup(r, func(raw []byte) { _ = unix.Munmap(raw) }, raw)
	return r
}

// free unmaps r's blocks; r may not be used after.
func (r *region) free() {
	r.blocks = nil
	if r.raw != nil {
		r.cleanup.Stop()
		_ = unix.Munmap(r.raw)
		r.raw = nil
	}
}

// mapped reports whether r's blocks are outside the Go heap.
func (r *region) mapped() bool { return r.raw != nil }
