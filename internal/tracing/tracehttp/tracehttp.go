// Package tracehttp is tracing's HTTP side: a server span per request with
// the W3C trace context taken from the request, a client span per
// upstream call with the context passed on, and the OTLP exporter.
package tracehttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// propagator reads and writes the W3C traceparent and tracestate headers.
var propagator = propagation.TraceContext{}

// Middleware opens a server span per request, continuing the trace the
// request's traceparent names. The span is named by the route the mux
// matched ("GET /t/{tenant}/login"), never by a path holding ids.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracing.Tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		r2 := r.WithContext(ctx)
		next.ServeHTTP(sw, r2)
		// The mux set the pattern on r2; the middleware outside (metrics)
		// reads it from r.
		r.Pattern = r2.Pattern
		if r2.Pattern != "" {
			span.SetName(r2.Pattern)
			span.SetAttributes(attribute.String("http.route", r2.Pattern))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.code()))
		if sw.code() >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.code()))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Transport wraps rt: a client span per upstream call ("HTTP POST
// host", no path or query, which may hold tokens), with the call's
// trace context passed on in traceparent.
func Transport(rt http.RoundTripper) http.RoundTripper { return transport{rt} }

type transport struct{ rt http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := tracing.Tracer().Start(r.Context(), "HTTP "+r.Method+" "+r.URL.Host,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", r.Method),
			attribute.String("server.address", r.URL.Hostname())))
	defer span.End()
	r2 := r.Clone(ctx)
	propagator.Inject(ctx, propagation.HeaderCarrier(r2.Header))
	res, err := t.rt.RoundTrip(r2)
	if err != nil {
		span.SetStatus(codes.Error, "upstream call failed")
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	if res.StatusCode >= 500 {
		span.SetStatus(codes.Error, http.StatusText(res.StatusCode))
	}
	return res, nil
}

// Unwrap answers the wrapped transport (for callers that tune it).
func (t transport) Unwrap() http.RoundTripper { return t.rt }

// Setup exports spans over OTLP/HTTP to endpoint (http(s)://host:port)
// and makes that the process's provider; shutdown flushes what is
// buffered. An empty endpoint sets nothing up.
func Setup(ctx context.Context, endpoint, service string) (shutdown func(context.Context) error, err error) {
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("otel endpoint %q: not a URL", endpoint)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithTimeout(10 * time.Second)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	if u.Path != "" && u.Path != "/" {
		opts = append(opts, otlptracehttp.WithURLPath(u.Path))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otel exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resourceOf(service)))
	tracing.SetProvider(tp)
	return tp.Shutdown, nil
}
