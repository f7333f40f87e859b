package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// TestWebhookThroughput measures delivery to a local receiver: EVENTS
// events of USERS users are written, then one node's dispatcher (default
// settings: 8 deliveries at once) delivers them to a receiver on
// 127.0.0.1 that answers 204. Run by hand for docs/BENCHMARKS.md:
//
//	GATEHOUSE_EVENTS_THROUGHPUT=1 go test -count=1 -v -run TestWebhookThroughput ./internal/server/
func TestWebhookThroughput(t *testing.T) {
	if os.Getenv("GATEHOUSE_EVENTS_THROUGHPUT") == "" {
		t.Skip("set GATEHOUSE_EVENTS_THROUGHPUT=1 to measure")
	}
	const events, users = 2000, 200
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("load")
		var got atomic.Int64
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer rcv.Close()
		url, types := rcv.URL, []string{"user.*"}
		if _, _, err := ta.Webhooks.Create(context.Background(), testActor, tn.ID, webhook.Input{URL: &url, Events: &types}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := 0; i < events; i += 100 {
			err := ta.DB.InTx(ctx, func(tx store.Repos) error {
				for j := i; j < i+100; j++ {
					u := fmt.Sprintf("user-%d", j%users)
					if err := ta.Outbox.Emit(ctx, tx, tn.ID, "user.updated", u, map[string]any{"user_id": u,
						"changes": map[string]any{"given_name": map[string]any{"before": nil, "after": fmt.Sprint(j)}}}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		d := ta.Dispatcher()
		start := time.Now()
		for got.Load() < events {
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 10*time.Minute {
				t.Fatalf("%d of %d delivered in 10 minutes", got.Load(), events)
			}
		}
		el := time.Since(start)
		t.Logf("%s: %d events of %d users delivered in %v: %.0f events/s", be.name, events, users, el.Round(time.Millisecond),
			float64(events)/el.Seconds())
	})
}
