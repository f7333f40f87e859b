//go:build pprof

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// A binary built with -tags pprof serves net/http/pprof on PPROF_ADDR, a
// loopback address, for profiling under bench/load (docs/BENCHMARKS.md).
// Release builds have no such tag, so no such listener.
func init() {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
