// Package tracing holds the process's OpenTelemetry tracer, so that every
// layer (the SQL store and the password hasher included, which know
// nothing of HTTP) can open spans without being handed one. With no
// provider set, spans are no-ops and cost next to nothing. Package
// tracehttp adds the HTTP side: a span per request, W3C trace context
// taken from requests and passed to upstreams.
package tracing

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of every span.
const Name = "github.com/gatehouse-id/gatehouse"

type holder struct{ tp trace.TracerProvider }

var current atomic.Pointer[holder]

// SetProvider makes tp the process's tracer provider (nil: none).
func SetProvider(tp trace.TracerProvider) {
	if tp == nil {
		current.Store(nil)
		return
	}
	current.Store(&holder{tp})
}

// Tracer answers the process's tracer.
func Tracer() trace.Tracer {
	if h := current.Load(); h != nil {
		return h.tp.Tracer(Name)
	}
	return noop.NewTracerProvider().Tracer(Name)
}

// Start opens a span named name as a child of ctx's.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, marking it failed when err is not nil. The error's text
// is not recorded: a driver's or server's message may hold values.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "error")
	}
	span.End()
}

// Enabled reports whether a provider is set: callers skip the work of
// naming a span when no one collects it.
func Enabled() bool { return current.Load() != nil }

// TraceID answers the trace id of ctx's span, "" without one.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// StatementName names a SQL statement for its span: the verb and the
// first table it names ("SELECT users", "INSERT audit_log"), never a
// value, so a span holds no personal data.
func StatementName(query string) string {
	f := strings.Fields(query)
	if len(f) == 0 {
		return "sql"
	}
	verb := strings.ToUpper(f[0])
	next := map[string]string{"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "", "WITH": ""}
	kw, ok := next[verb]
	if !ok {
		return verb
	}
	for i := 1; i < len(f); i++ {
		if kw == "" || strings.EqualFold(f[i], kw) {
			j := i
			if kw != "" {
				j = i + 1
			}
			if j < len(f) {
				return verb + " " + tableName(f[j])
			}
			break
		}
	}
	return verb
}

// tableName keeps the identifier characters of a table reference.
func tableName(s string) string {
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if end >= 0 {
		s = s[:end]
	}
	if s == "" {
		return "?"
	}
	return s
}

// LogHandler adds the trace id of the record's context (trace_id) to
// every log line written with a context inside a span.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ h slog.Handler }

func (l logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := TraceID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", id))
	}
	return l.h.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.h.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.h.WithGroup(name)} }
