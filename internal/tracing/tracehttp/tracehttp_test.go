package tracehttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
	"github.com/gatehouse-id/gatehouse/internal/tracing/tracehttp"
)

// TestTraceContextPassedToUpstreams: a request's trace continues through
// a safehttp client call: the upstream receives a traceparent of the same
// trace whose parent is the client span, itself a child of the request's
// server span; the client span names the host, not the path.
func TestTraceContextPassedToUpstreams(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracing.SetProvider(tp)
	t.Cleanup(func() { tracing.SetProvider(nil) })

	got := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer upstream.Close()
	client := safehttp.Policy{AllowLoopback: true}.Client(0)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hook/{id}", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, upstream.URL+"/secret-path?token=x", nil)
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
	})
	srv := httptest.NewServer(tracehttp.Middleware(mux))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hook/42", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	tp2 := <-got
	spans := exp.GetSpans()
	var serverSpan, clientSpan *tracetest.SpanStub
	for i := range spans {
		switch spans[i].SpanKind {
		case trace.SpanKindServer:
			serverSpan = &spans[i]
		case trace.SpanKindClient:
			clientSpan = &spans[i]
		}
	}
	if serverSpan == nil || clientSpan == nil {
		t.Fatalf("spans %v", spans)
	}
	if serverSpan.Name != "GET /hook/{id}" || serverSpan.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("server span %s in %s", serverSpan.Name, serverSpan.SpanContext.TraceID())
	}
	if clientSpan.Parent.SpanID() != serverSpan.SpanContext.SpanID() || clientSpan.Name != "HTTP POST "+upstream.Listener.Addr().String() {
		t.Errorf("client span %q parent %s", clientSpan.Name, clientSpan.Parent.SpanID())
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + clientSpan.SpanContext.SpanID().String() + "-01"
	if tp2 != want {
		t.Errorf("upstream traceparent %q, want %q", tp2, want)
	}
}
