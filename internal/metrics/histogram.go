package metrics

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// DefaultLatencyBuckets are histogram upper bounds, in seconds, suited to
// HTTP and database latencies from 0.5ms to 10s.
var DefaultLatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// HistogramVec is a family of histograms partitioned by a fixed set of label
// names. Each series counts observations into buckets with fixed upper
// bounds and tracks their sum and count. It is safe for concurrent use.
type HistogramVec struct {
	name, help string
	buckets    []float64 // finite upper bounds, strictly increasing
	les        []string  // formatted le label values, including "+Inf"
	set        *seriesSet[histSeries]
}

type histSeries struct {
	mu     sync.Mutex
	counts []uint64 // per bucket, non-cumulative; last element is +Inf
	sum    float64
	count  uint64
}

// NewHistogramVec registers and returns a histogram family with the given
// bucket upper bounds and label names. If buckets is empty,
// [DefaultLatencyBuckets] is used; a trailing +Inf bound is implicit and
// may be omitted. It panics if the bounds are not strictly increasing or
// contain NaN, on a duplicate metric name (including the derived _bucket,
// _sum and _count names), on an invalid metric or label name, or if a label
// is named "le".
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	checkNames(name, labels, "le")
	if len(buckets) == 0 {
		buckets = DefaultLatencyBuckets
	}
	buckets = slices.Clone(buckets)
	if math.IsInf(buckets[len(buckets)-1], +1) {
		buckets = buckets[:len(buckets)-1]
	}
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 0) || (i > 0 && b <= buckets[i-1]) {
			panic(fmt.Sprintf("metrics: %s: histogram buckets must be finite and strictly increasing, got %v", name, buckets))
		}
	}
	h := &HistogramVec{name: name, help: help, buckets: buckets}
	for _, b := range buckets {
		h.les = append(h.les, formatFloat(b))
	}
	h.les = append(h.les, "+Inf")
	h.set = newSeriesSet(name, labels, func() *histSeries {
		return &histSeries{counts: make([]uint64, len(buckets)+1)}
	})
	r.register(h, name, name+"_bucket", name+"_sum", name+"_count")
	return h
}

// Observe records v in the histogram for labelValues. NaN is ignored. It
// panics if the number of label values differs from the number of label
// names.
func (h *HistogramVec) Observe(v float64, labelValues ...string) {
	s := h.set.get(labelValues)
	if math.IsNaN(v) {
		return
	}
	i := sort.SearchFloat64s(h.buckets, v) // first bound >= v, or len = +Inf
	s.mu.Lock()
	s.counts[i]++
	s.sum += v
	s.count++
	s.mu.Unlock()
}

// ObserveDuration records d in seconds in the histogram for labelValues.
func (h *HistogramVec) ObserveDuration(d time.Duration, labelValues ...string) {
	h.Observe(d.Seconds(), labelValues...)
}

func (h *HistogramVec) familyName() string { return h.name }

func (h *HistogramVec) writeFamily(w *bufio.Writer) {
	series := h.set.snapshot()
	if len(series) == 0 {
		return
	}
	writeHeader(w, h.name, h.help, "histogram")
	labels := h.set.labels
	counts := make([]uint64, len(h.buckets)+1)
	for _, e := range series {
		e.s.mu.Lock()
		copy(counts, e.s.counts)
		sum, count := e.s.sum, e.s.count
		e.s.mu.Unlock()

		var cum uint64
		for i, c := range counts {
			cum += c
			writeSample(w, h.name, "_bucket", labels, e.values, "le", h.les[i], float64(cum))
		}
		writeSample(w, h.name, "_sum", labels, e.values, "", "", sum)
		writeSample(w, h.name, "_count", labels, e.values, "", "", float64(count))
	}
}
