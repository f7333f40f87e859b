//go:build !(linux || darwin || freebsd)

package argon2

// region is n blocks in the Go heap, where no mapping of memory outside
// it is wired up (memory_mmap.go).
type region struct {
	blocks []block
}

func newRegion(n int) *region { return &region{blocks: make([]block, n)} }

func (r *region) free() { r.blocks = nil }

// mapped reports whether r's blocks are outside the Go heap: never here.
func (r *region) mapped() bool { return false }
