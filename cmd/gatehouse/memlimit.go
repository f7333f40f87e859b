package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for `gatehouse
// serve` when GOMEMLIMIT is not set. Near it the collector runs sooner and
// returns freed pages to the kernel; it bounds bursts of garbage (once,
// every argon2id hash left its 19 MiB memory cost as garbage; the hash
// slots now keep their blocks, mapped outside the Go heap, so neither they
// nor the hashes count against this limit: internal/credential/argon2).
// Under login load the Go runtime holds about 40 MiB, well below. It is
// soft: a server that really needs more gets more (the collector then runs
// more often). Set GOMEMLIMIT to override, e.g. GOMEMLIMIT=off.
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
