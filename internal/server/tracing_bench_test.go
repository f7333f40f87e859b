package server

import (
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// TestHostedLoginTracingCost (GATEHOUSE_TRACING_COST=1) measures hosted
// logins (SQLite, test argon2 parameters, so the spans' share is at its
// largest) with no tracer provider and with every span recorded by a
// batching provider, alternating rounds, and logs the medians.
func TestHostedLoginTracingCost(t *testing.T) {
	if os.Getenv("GATEHOUSE_TRACING_COST") == "" {
		t.Skip("set GATEHOUSE_TRACING_COST=1 to measure")
	}
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("default")
	ta.userWithPassword(tn.ID, "bench@example.com", "correct horse battery staple")
	br := ta.browser()
	tok := br.csrf("/t/default/account/login")
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	t.Cleanup(func() { tracing.SetProvider(nil); _ = tp.Shutdown(t.Context()) })
	login := func() time.Duration {
		start := time.Now()
		p := br.post("/t/default/account/login", form("csrf", tok, "identifier", "bench@example.com",
			"password", "correct horse battery staple"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("login %d", p.status)
		}
		return time.Since(start)
	}
	var off, on []time.Duration
	for round := 0; round < 10; round++ {
		tracing.SetProvider(nil)
		for range 20 {
			off = append(off, login())
		}
		tracing.SetProvider(tp)
		for range 20 {
			on = append(on, login())
		}
	}
	slices.Sort(off)
	slices.Sort(on)
	t.Logf("hosted login median: tracing off %v, on %v (ratio %.3f); p90 off %v, on %v",
		off[len(off)/2], on[len(on)/2], float64(on[len(on)/2])/float64(off[len(off)/2]),
		off[len(off)*9/10], on[len(on)*9/10])
}
