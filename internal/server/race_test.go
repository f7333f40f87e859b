//go:build race

package server

// raceEnabled: the race detector slows every call many times over, so
// throughput guards do not apply under it (they still log their figure).
const raceEnabled = true
