package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for `gatehouse
// serve` when GOMEMLIMIT is not set. Each argon2id hash allocates its
// memory cost (19 MiB at the defaults) and drops it when done; with the
// collector's default pacing (GOGC=100) that garbage let the heap, and the
// RSS, grow to about 170 MiB while 16 clients logged in (the target is
// under 150 MB). Near this limit the collector runs sooner and returns
// freed pages to the kernel. It is soft: a server that really needs more
// gets more (the collector then runs more often). Set GOMEMLIMIT to
// override, e.g. GOMEMLIMIT=off.
const defaultMemoryLimit = 96 << 20

// setMemoryLimit applies defaultMemoryLimit unless GOMEMLIMIT is set; it
// answers the limit in force.
func setMemoryLimit() int64 {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	return defaultMemoryLimit
}
