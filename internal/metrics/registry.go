package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the Content-Type of the Prometheus text exposition format
// served by [Registry.Handler].
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Registry is a set of metric families that can be written in the
// Prometheus text format. Create one with [NewRegistry] (the zero value is
// also an empty, usable registry). A Registry is safe for concurrent use
// and must not be copied after first use.
type Registry struct {
	mu       sync.Mutex
	names    map[string]struct{} // every sample name claimed by a family
	families []family            // sorted by name

	httpMu sync.Mutex
	http   *httpInstruments // created by the first Middleware call
}

// family is one registered metric family.
type family interface {
	familyName() string
	// writeFamily writes the HELP and TYPE lines and all samples.
	// Errors are sticky in the bufio.Writer and reported by Flush.
	writeFamily(w *bufio.Writer)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{names: make(map[string]struct{})}
}

// register adds f to the registry. claimed lists every sample name the
// family writes (for histograms: name_bucket, name_sum, name_count and the
// base name) so that families cannot produce colliding samples.
func (r *Registry) register(f family, claimed ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = make(map[string]struct{})
	}
	for _, n := range claimed {
		if _, dup := r.names[n]; dup {
			panic(fmt.Sprintf("metrics: duplicate registration of metric name %q", n))
		}
	}
	for _, n := range claimed {
		r.names[n] = struct{}{}
	}
	i, _ := slices.BinarySearchFunc(r.families, f.familyName(), func(e family, name string) int {
		return strings.Compare(e.familyName(), name)
	})
	r.families = slices.Insert(r.families, i, f)
}

// WriteTo writes all families in the Prometheus text format (version 0.0.4)
// to w: families sorted by name, each with HELP and TYPE lines, and series
// sorted by label values. Families without any series are omitted. It
// returns the number of bytes written and the first write error.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := slices.Clone(r.families)
	r.mu.Unlock()

	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, f := range fams {
		f.writeFamily(bw)
	}
	err := bw.Flush()
	return cw.n, err
}

// Handler returns an HTTP handler that serves the registry in the
// Prometheus text format with Content-Type [ContentType].
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var buf bytes.Buffer
		if _, err := r.WriteTo(&buf); err != nil {
			http.Error(w, "metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		_, _ = w.Write(buf.Bytes())
	})
}

// countingWriter counts the bytes successfully written to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == ':' || isLetter(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]* and does
// not start with the reserved prefix "__".
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || isLetter(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// checkNames panics if name or any label name is invalid, duplicated, or in
// reserved.
func checkNames(name string, labels []string, reserved ...string) {
	if !validMetricName(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for i, l := range labels {
		if !validLabelName(l) {
			panic(fmt.Sprintf("metrics: %s: invalid label name %q", name, l))
		}
		if slices.Contains(reserved, l) {
			panic(fmt.Sprintf("metrics: %s: label name %q is reserved", name, l))
		}
		if slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("metrics: %s: duplicate label name %q", name, l))
		}
	}
}
