package metrics

import (
	"bufio"
	"fmt"
	"math"
	"sync/atomic"
)

// CounterVec is a family of monotonically increasing counters partitioned
// by a fixed set of label names. It is safe for concurrent use.
type CounterVec struct {
	name, help string
	set        *seriesSet[counterSeries]
}

type counterSeries struct {
	bits atomic.Uint64 // math.Float64bits of the value
}

func (s *counterSeries) add(v float64) {
	for {
		old := s.bits.Load()
		next := math.Float64bits(math.Float64frombits(old) + v)
		if s.bits.CompareAndSwap(old, next) {
			return
		}
	}
}

func (s *counterSeries) value() float64 { return math.Float64frombits(s.bits.Load()) }

// NewCounterVec registers and returns a counter family with the given
// label names. A family without labels exposes a single series starting
// at 0. It panics on a duplicate metric name or an invalid metric or label
// name.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	checkNames(name, labels)
	c := &CounterVec{
		name: name,
		help: help,
		set:  newSeriesSet(name, labels, func() *counterSeries { return new(counterSeries) }),
	}
	r.register(c, name)
	return c
}

// Inc adds 1 to the counter for labelValues. It panics if the number of
// label values differs from the number of label names.
func (c *CounterVec) Inc(labelValues ...string) {
	c.set.get(labelValues).add(1)
}

// Add adds v to the counter for labelValues. It panics if v is negative or
// NaN, or if the number of label values differs from the number of label
// names.
func (c *CounterVec) Add(v float64, labelValues ...string) {
	if !(v >= 0) {
		panic(fmt.Sprintf("metrics: %s: counter cannot be increased by %v", c.name, v))
	}
	c.set.get(labelValues).add(v)
}

// Value returns the current value of the counter for labelValues, or 0 if
// that series does not exist; it never creates a series. It is mainly
// useful in tests.
func (c *CounterVec) Value(labelValues ...string) float64 {
	if len(labelValues) != len(c.set.labels) {
		panic(fmt.Sprintf("metrics: %s: got %d label values, want %d", c.name, len(labelValues), len(c.set.labels)))
	}
	c.set.mu.RLock()
	e := c.set.m[seriesKey(labelValues)]
	c.set.mu.RUnlock()
	if e == nil {
		return 0
	}
	return e.s.value()
}

func (c *CounterVec) familyName() string { return c.name }

func (c *CounterVec) writeFamily(w *bufio.Writer) {
	series := c.set.snapshot()
	if len(series) == 0 {
		return
	}
	writeHeader(w, c.name, c.help, "counter")
	for _, e := range series {
		writeSample(w, c.name, "", c.set.labels, e.values, "", "", e.s.value())
	}
}
