package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// TestTracingHostedLogin: one hosted login, sent with a W3C traceparent,
// produces one trace whose spans cover the request (named by its route),
// the database statements (named by verb and table, no values) and the
// password hash; the access log line of the request carries the trace id
// and the request id. Spans go to the SDK's in-memory exporter.
func TestTracingHostedLogin(t *testing.T) {
	forEachBackendInTurn(t, func(t *testing.T, be backend) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		tracing.SetProvider(tp)
		t.Cleanup(func() { tracing.SetProvider(nil); _ = tp.Shutdown(t.Context()) })

		ta := newTestApp(t, be)
		tn := ta.tenant("default")
		const email, pw = "tracy@example.com", "correct horse battery staple"
		ta.userWithPassword(tn.ID, email, pw)
		b := ta.browser()
		tok := b.csrf("/t/default/account/login")

		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		p := b.post("/t/default/account/login", form("csrf", tok, "identifier", email, "password", pw),
			"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		if p.status != http.StatusSeeOther {
			t.Fatalf("login answered %d", p.status)
		}

		var names []string
		var server, hash, queries int
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID().String() != traceID {
				continue
			}
			names = append(names, s.Name)
			switch {
			case s.Name == "POST /t/{tenant}/account/login" && s.SpanKind == trace.SpanKindServer:
				server++
				if s.Parent.SpanID().String() != "00f067aa0ba902b7" {
					t.Errorf("request span's parent %s, want the traceparent's", s.Parent.SpanID())
				}
			case s.Name == "password.verify":
				hash++
			case strings.HasPrefix(s.Name, "db "):
				queries++
				for _, a := range s.Attributes {
					if strings.Contains(a.Value.Emit(), "tracy") {
						t.Errorf("span %s holds a value: %v", s.Name, a)
					}
				}
				if strings.Contains(s.Name, "tracy") || strings.Contains(s.Name, "'") {
					t.Errorf("span name holds a value: %s", s.Name)
				}
			}
		}
		if server != 1 || hash != 1 || queries < 3 {
			t.Fatalf("trace %s: %d request spans, %d hash spans, %d query spans: %v", traceID, server, hash, queries, names)
		}
		t.Logf("%d spans: %v", len(names), names)

		found := false
		for _, line := range strings.Split(ta.logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "request" || rec["route"] != "POST /t/{tenant}/account/login" {
				continue
			}
			found = true
			if rec["trace_id"] != traceID || rec["request_id"] == "" || rec["request_id"] == nil {
				t.Errorf("access log line without trace or request id: %s", line)
			}
		}
		if !found {
			t.Fatal("no access log line for the login")
		}
	})
}
