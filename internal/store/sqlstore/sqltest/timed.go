package sqltest

import (
	"slices"
	"testing"
	"time"
)

// Timed runs op under b.Loop, timing each call, and reports the median as
// p50-ns and the 99th percentile as p99-ns next to Go's mean ns/op: the
// figures docs/BENCHMARKS.md gives.
func Timed(b *testing.B, op func(i int) error) {
	var ds []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
		i++
	}
	slices.Sort(ds)
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds()), "p99-ns")
	}
}
