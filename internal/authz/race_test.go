//go:build race

package authz_test

// raceEnabled: the race detector slows every call many times over, so the
// latency guard does not apply.
const raceEnabled = true
