package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxSeriesPerFamily is the maximum number of distinct label combinations a
// labelled family stores. Once reached, observations for new combinations
// are folded into one extra series whose label values are all
// [OverflowLabelValue], so memory stays bounded whatever the input.
const MaxSeriesPerFamily = 10000

// OverflowLabelValue is the label value used for the series that absorbs
// label combinations beyond [MaxSeriesPerFamily].
const OverflowLabelValue = "overflow"

// seriesSet stores the series of one labelled family, keyed by their
// encoded label values.
type seriesSet[S any] struct {
	name   string
	labels []string
	newS   func() *S
	max    int

	mu sync.RWMutex
	m  map[string]*seriesEntry[S]
}

type seriesEntry[S any] struct {
	values []string
	s      *S
}

func newSeriesSet[S any](name string, labels []string, newS func() *S) *seriesSet[S] {
	ss := &seriesSet[S]{
		name:   name,
		labels: slices.Clone(labels),
		newS:   newS,
		max:    MaxSeriesPerFamily,
		m:      make(map[string]*seriesEntry[S]),
	}
	if len(labels) == 0 {
		ss.get(nil) // an unlabelled family always exposes its single series
	}
	return ss
}

// get returns the series for values, creating it if needed. It panics if
// the number of values does not match the number of label names.
func (ss *seriesSet[S]) get(values []string) *S {
	if len(values) != len(ss.labels) {
		panic(fmt.Sprintf("metrics: %s: got %d label values, want %d (%s)",
			ss.name, len(values), len(ss.labels), strings.Join(ss.labels, ", ")))
	}
	key := seriesKey(values)
	ss.mu.RLock()
	e := ss.m[key]
	ss.mu.RUnlock()
	if e != nil {
		return e.s
	}

	ss.mu.Lock()
	defer ss.mu.Unlock()
	if e := ss.m[key]; e != nil {
		return e.s
	}
	if len(ss.m) >= ss.max {
		values = overflowValues(len(ss.labels))
		key = seriesKey(values)
		if e := ss.m[key]; e != nil {
			return e.s
		}
	}
	e = &seriesEntry[S]{values: slices.Clone(values), s: ss.newS()}
	ss.m[key] = e
	return e.s
}

// snapshot returns the current series sorted by label values.
func (ss *seriesSet[S]) snapshot() []*seriesEntry[S] {
	ss.mu.RLock()
	out := make([]*seriesEntry[S], 0, len(ss.m))
	for _, e := range ss.m {
		out = append(out, e)
	}
	ss.mu.RUnlock()
	slices.SortFunc(out, func(a, b *seriesEntry[S]) int { return slices.Compare(a.values, b.values) })
	return out
}

// len returns the number of stored series.
func (ss *seriesSet[S]) len() int {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return len(ss.m)
}

// seriesKey encodes label values unambiguously (length-prefixed), whatever
// bytes they contain.
func seriesKey(values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	var b strings.Builder
	for _, v := range values {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// overflowValues returns n copies of [OverflowLabelValue].
func overflowValues(n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = OverflowLabelValue
	}
	return v
}
