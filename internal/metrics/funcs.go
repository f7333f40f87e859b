package metrics

import (
	"bufio"
	"fmt"
	"slices"
)

// funcFamily is an unlabelled gauge or counter read at scrape time.
type funcFamily struct {
	name, help, typ string
	f               func() float64
}

// NewGaugeFunc registers a gauge whose value is obtained by calling f at
// scrape time. f must be safe for concurrent use. It panics on a duplicate
// or invalid name.
func (r *Registry) NewGaugeFunc(name, help string, f func() float64) {
	checkNames(name, nil)
	r.register(&funcFamily{name: name, help: help, typ: "gauge", f: f}, name)
}

// NewCounterFunc registers a counter whose value is obtained by calling f
// at scrape time, for monotonically increasing values maintained elsewhere
// (for example [database/sql.DBStats.WaitCount]). f must be safe for
// concurrent use. It panics on a duplicate or invalid name.
func (r *Registry) NewCounterFunc(name, help string, f func() float64) {
	checkNames(name, nil)
	r.register(&funcFamily{name: name, help: help, typ: "counter", f: f}, name)
}

func (g *funcFamily) familyName() string { return g.name }

func (g *funcFamily) writeFamily(w *bufio.Writer) {
	writeHeader(w, g.name, g.help, g.typ)
	writeSample(w, g.name, "", nil, nil, "", "", g.f())
}

// EmitFunc reports one series of a gauge family computed at scrape time:
// its value and its label values, in the order of the family's label names.
type EmitFunc func(value float64, labelValues ...string)

// gaugeVecFunc is a labelled gauge family computed at scrape time.
type gaugeVecFunc struct {
	name, help string
	typ        string // "gauge", or "counter" (NewCounterVecFunc)
	labels     []string
	f          func(emit EmitFunc)
}

// NewGaugeVecFunc registers a gauge family with the given label names whose
// series are computed at scrape time: f is called once per scrape and calls
// emit once per series. If the same label values are emitted twice, the
// last value wins. Beyond [MaxSeriesPerFamily] distinct label combinations,
// the values of further combinations are summed into the
// [OverflowLabelValue] series. emit panics if the number of label values
// is wrong. It panics on a duplicate or invalid metric or label name.
//
//	reg.NewGaugeVecFunc("gatehouse_sessions_active", "Active sessions by tenant.",
//		[]string{"tenant"}, func(emit metrics.EmitFunc) {
//			for tenant, n := range sessionCounts() {
//				emit(float64(n), tenant)
//			}
//		})
func (r *Registry) NewGaugeVecFunc(name, help string, labels []string, f func(emit EmitFunc)) {
	checkNames(name, labels)
	r.register(&gaugeVecFunc{name: name, help: help, typ: "gauge", labels: slices.Clone(labels), f: f}, name)
}

// NewCounterVecFunc is [Registry.NewGaugeVecFunc] for a labelled counter
// kept elsewhere (the values f emits must only grow).
func (r *Registry) NewCounterVecFunc(name, help string, labels []string, f func(emit EmitFunc)) {
	checkNames(name, labels)
	r.register(&gaugeVecFunc{name: name, help: help, typ: "counter", labels: slices.Clone(labels), f: f}, name)
}

func (g *gaugeVecFunc) familyName() string { return g.name }

func (g *gaugeVecFunc) writeFamily(w *bufio.Writer) {
	type sample struct {
		values []string
		v      float64
	}
	byKey := make(map[string]*sample)
	g.f(func(v float64, labelValues ...string) {
		if len(labelValues) != len(g.labels) {
			panic(fmt.Sprintf("metrics: %s: got %d label values, want %d", g.name, len(labelValues), len(g.labels)))
		}
		key := seriesKey(labelValues)
		if s := byKey[key]; s != nil {
			s.v = v
			return
		}
		if len(byKey) >= MaxSeriesPerFamily {
			labelValues = overflowValues(len(g.labels))
			key = seriesKey(labelValues)
			if s := byKey[key]; s != nil {
				s.v += v
				return
			}
		}
		byKey[key] = &sample{values: slices.Clone(labelValues), v: v}
	})
	samples := make([]*sample, 0, len(byKey))
	for _, s := range byKey {
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		return
	}
	slices.SortFunc(samples, func(a, b *sample) int { return slices.Compare(a.values, b.values) })
	writeHeader(w, g.name, g.help, g.typ)
	for _, s := range samples {
		writeSample(w, g.name, "", g.labels, s.values, "", "", s.v)
	}
}
