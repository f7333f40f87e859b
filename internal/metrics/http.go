package metrics

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// UnmatchedRoute is the route label of requests that no ServeMux pattern
// matched (404, 405, or handlers not behind a ServeMux).
const UnmatchedRoute = "unmatched"

// httpInstruments are the metrics recorded by [Registry.Middleware].
type httpInstruments struct {
	requests *CounterVec
	duration *HistogramVec
}

func (r *Registry) httpInstruments() *httpInstruments {
	r.httpMu.Lock()
	defer r.httpMu.Unlock()
	if r.http == nil {
		r.http = &httpInstruments{
			requests: r.NewCounterVec("http_requests_total",
				"Total HTTP requests by method, route pattern and status code.",
				"method", "route", "status"),
			duration: r.NewHistogramVec("http_request_duration_seconds",
				"HTTP request latency in seconds by method and route pattern.",
				DefaultLatencyBuckets, "method", "route"),
		}
	}
	return r.http
}

// Middleware returns a handler that serves requests with next and records
// http_requests_total{method,route,status} and
// http_request_duration_seconds{method,route}. It may be called several
// times; all wrapped handlers share the same two families.
//
// route is the pattern that net/http.ServeMux matched ([http.Request.Pattern],
// read after next returns, so next may be the ServeMux itself), or
// [UnmatchedRoute] when empty, so that arbitrary URLs cannot inflate label
// cardinality. Because ServeMux sets Pattern on the *http.Request it
// receives, no middleware between this one and the mux may replace the
// request (for example with r.WithContext); wrap such middleware around
// this one, or apply Middleware per route inside the mux instead. method is a standard HTTP method or "OTHER". status is the
// code passed to WriteHeader, 200 if the handler only wrote a body or wrote
// nothing, and 500 if it panicked before writing a header (the panic is
// propagated). The ResponseWriter passed to next implements http.Flusher
// and http.Hijacker when the original does, and Unwrap for
// http.ResponseController.
func (r *Registry) Middleware(next http.Handler) http.Handler {
	m := r.httpInstruments()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		completed := false
		defer func() {
			status := sw.status
			if !completed && !sw.wroteHeader {
				status = http.StatusInternalServerError
			}
			method := normalizeMethod(req.Method)
			route := routeLabel(req, sw)
			m.requests.Inc(method, route, strconv.Itoa(status))
			m.duration.Observe(time.Since(start).Seconds(), method, route)
		}()
		next.ServeHTTP(sw.wrap(), req)
		completed = true
	})
}

// routeLabel returns the route label for a served request.
func routeLabel(req *http.Request, sw *statusWriter) string {
	route := req.Pattern
	if route == "" {
		return UnmatchedRoute
	}
	// For CONNECT requests whose path only matches after adding a trailing
	// slash, ServeMux redirects and reports the (client-controlled)
	// redirect path as the pattern. Do not use it as a label.
	if req.Method == http.MethodConnect && sw.status == http.StatusTemporaryRedirect {
		if u, err := url.Parse(sw.Header().Get("Location")); err == nil && u.Path == route {
			return UnmatchedRoute
		}
	}
	return route
}

// normalizeMethod maps non-standard methods to "OTHER" to bound
// cardinality.
func normalizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodConnect,
		http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusWriter records the response status. Use wrap to obtain a writer
// that also exposes the optional interfaces of the wrapped one.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

// WriteHeader records the first final status code (informational 1xx
// codes other than 101 Switching Protocols are not final) and forwards it.
func (w *statusWriter) WriteHeader(code int) {
	w.ResponseWriter.WriteHeader(code) // panics on invalid codes; record only valid ones
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.wroteHeader = true
	}
}

// Write marks the status as 200 if no header was written and forwards b.
func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) flush() {
	w.wroteHeader = true
	w.ResponseWriter.(http.Flusher).Flush()
}

func (w *statusWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

type flushWriter struct{ *statusWriter }

func (w flushWriter) Flush() { w.flush() }

type hijackWriter struct{ *statusWriter }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

type flushHijackWriter struct{ *statusWriter }

func (w flushHijackWriter) Flush() { w.flush() }

func (w flushHijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

// wrap returns w as an http.ResponseWriter that implements http.Flusher and
// http.Hijacker exactly when the wrapped writer does.
func (w *statusWriter) wrap() http.ResponseWriter {
	_, f := w.ResponseWriter.(http.Flusher)
	_, h := w.ResponseWriter.(http.Hijacker)
	switch {
	case f && h:
		return flushHijackWriter{w}
	case f:
		return flushWriter{w}
	case h:
		return hijackWriter{w}
	}
	return w
}
