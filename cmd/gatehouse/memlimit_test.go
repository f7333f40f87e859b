package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestMemoryLimitDefaultAndOverride(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	if got := setMemoryLimit(); got != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: limit %d, want the runtime's own", got)
	}

	// Unset: the default applies.
	t.Setenv("GOMEMLIMIT", "x") // registers the restore
	if err := os.Unsetenv("GOMEMLIMIT"); err != nil {
		t.Fatal(err)
	}
	if got := setMemoryLimit(); got != defaultMemoryLimit || debug.SetMemoryLimit(-1) != defaultMemoryLimit {
		t.Errorf("GOMEMLIMIT unset: limit %d, want %d", debug.SetMemoryLimit(-1), int64(defaultMemoryLimit))
	}
}
