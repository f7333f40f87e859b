package metrics

import (
	"bytes"
	"database/sql"
	"math"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
)

// RegisterDBStats registers metrics for a database connection pool, read
// from stats (typically (*sql.DB).Stats) at scrape time:
//
//   - db_max_open_connections (gauge)
//   - db_open_connections (gauge)
//   - db_in_use_connections (gauge)
//   - db_idle_connections (gauge)
//   - db_wait_count_total (counter)
//   - db_wait_duration_seconds_total (counter)
//
// It panics if called twice on the same registry.
func (r *Registry) RegisterDBStats(stats func() sql.DBStats) {
	r.NewGaugeFunc("db_max_open_connections",
		"Maximum number of open connections to the database (0 means unlimited).",
		func() float64 { return float64(stats().MaxOpenConnections) })
	r.NewGaugeFunc("db_open_connections",
		"Number of established connections to the database, in use and idle.",
		func() float64 { return float64(stats().OpenConnections) })
	r.NewGaugeFunc("db_in_use_connections",
		"Number of database connections currently in use.",
		func() float64 { return float64(stats().InUse) })
	r.NewGaugeFunc("db_idle_connections",
		"Number of idle database connections.",
		func() float64 { return float64(stats().Idle) })
	r.NewCounterFunc("db_wait_count_total",
		"Total number of times a caller waited for a database connection.",
		func() float64 { return float64(stats().WaitCount) })
	r.NewCounterFunc("db_wait_duration_seconds_total",
		"Total time in seconds spent waiting for a database connection.",
		func() float64 { return stats().WaitDuration.Seconds() })
}

// RegisterRuntime registers Go runtime and process metrics read at scrape
// time:
//
//   - go_goroutines (gauge)
//   - go_memstats_heap_alloc_bytes (gauge): bytes of allocated heap objects
//   - process_resident_memory_bytes (gauge), only where /proc/self/statm
//     is readable (Linux)
//
// It panics if called twice on the same registry.
func (r *Registry) RegisterRuntime() {
	r.NewGaugeFunc("go_goroutines",
		"Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })
	r.NewGaugeFunc("go_memstats_heap_alloc_bytes",
		"Number of heap bytes allocated and still in use.",
		heapAllocBytes)
	if _, ok := residentMemoryBytes(); ok {
		r.NewGaugeFunc("process_resident_memory_bytes",
			"Resident memory size in bytes.",
			func() float64 {
				v, ok := residentMemoryBytes()
				if !ok {
					return math.NaN()
				}
				return v
			})
	}
}

// heapAllocBytes returns the runtime/metrics equivalent of
// runtime.MemStats.HeapAlloc, without stopping the world.
func heapAllocBytes() float64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc)
	}
	return float64(s[0].Value.Uint64())
}

// residentMemoryBytes reads the resident set size from /proc/self/statm.
func residentMemoryBytes() (float64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return float64(pages) * float64(os.Getpagesize()), true
}
