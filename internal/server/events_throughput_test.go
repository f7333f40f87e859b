package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// TestWebhookThroughput measures delivery to a local receiver: for each
// backlog (GATEHOUSE_EVENTS_BACKLOGS, comma-separated, default 2000) that
// many events of 200 users are written, then one node's dispatcher (default
// settings: 8 deliveries at once) delivers them to a receiver on 127.0.0.1
// that answers 204. A run stops after GATEHOUSE_EVENTS_MAX (default 10m)
// and reports the rate of what was delivered by then. Run by hand for
// docs/BENCHMARKS.md:
//
//	GATEHOUSE_EVENTS_THROUGHPUT=1 GATEHOUSE_EVENTS_BACKLOGS=1000,5000,20000 \
//	  go test -count=1 -v -run TestWebhookThroughput ./internal/server/
func TestWebhookThroughput(t *testing.T) {
	if os.Getenv("GATEHOUSE_EVENTS_THROUGHPUT") == "" {
		t.Skip("set GATEHOUSE_EVENTS_THROUGHPUT=1 to measure")
	}
	backlogs := []int{2000}
	if v := os.Getenv("GATEHOUSE_EVENTS_BACKLOGS"); v != "" {
		backlogs = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 || n%100 != 0 {
				t.Fatalf("GATEHOUSE_EVENTS_BACKLOGS: %q is not a positive multiple of 100", f)
			}
			backlogs = append(backlogs, n)
		}
	}
	limit := 10 * time.Minute
	if v := os.Getenv("GATEHOUSE_EVENTS_MAX"); v != "" {
		var err error
		if limit, err = time.ParseDuration(v); err != nil {
			t.Fatalf("GATEHOUSE_EVENTS_MAX: %v", err)
		}
	}
	for _, events := range backlogs {
		t.Run(strconv.Itoa(events), func(t *testing.T) { measureWebhookThroughput(t, int64(events), 200, limit) })
	}
}

func measureWebhookThroughput(t *testing.T, events int64, users int, limit time.Duration) {
	// In turn: the figure is one backend's rate, not one measured while
	// the other backend's run shares the cores.
	forEachBackendInTurn(t, func(t *testing.T, be backend) {
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
		for i := 0; i < int(events); i += 100 {
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
			if time.Since(start) > limit {
				break
			}
		}
		el, n := time.Since(start), got.Load()
		t.Logf("%s: %d of a backlog of %d events of %d users delivered in %v: %.0f events/s", be.name, n, events, users,
			el.Round(time.Millisecond), float64(n)/el.Seconds())
	})
}
