package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for `gatehouse
// serve` when GOMEMLIMIT is not set. Near it the collector runs sooner and
// returns freed pages to the kernel; it bounds bursts of garbage. The
// argon2id hash slots keep their blocks mapped outside the Go heap on
// Linux, macOS and FreeBSD, where neither they nor the hashes count
// against this limit (internal/credential/argon2); elsewhere each hash
// allocates its memory cost in the heap and drops it after, as x/crypto
// does. Under login load the Go runtime holds about 40 MiB. It is
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
