package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// thresholdTenant creates a tenant on plan with a webhook receiving its
// usage.threshold events.
func (ta *testApp) thresholdTenant(slug, plan, platform string) (*store.Tenant, *receiver) {
	ta.t.Helper()
	tn := ta.tenant(slug)
	ta.mustAPI("PATCH", "/api/v1/tenants/"+slug, platform, map[string]any{"plan": plan})
	r := newReceiver(ta.t)
	_, secret := ta.hook(tn, ta.key(tn.ID, tenancy.ScopeAdmin), r.srv.URL, "usage.threshold")
	r.secrets = []string{secret}
	return tn, r
}

// settle runs the dispatcher until nothing is left to send, so a count
// of the receiver's events afterwards includes any extra one.
func settle(t *testing.T, ta *testApp) {
	t.Helper()
	d := ta.quickDispatcher()
	for range 50 {
		n, err := d.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkThresholds(t *testing.T, calls []hookCall, limit string, max float64, plan string) {
	t.Helper()
	if len(calls) != 2 {
		t.Fatalf("%s: %d usage.threshold events, want 2 (80%% and 100%% once each): %+v", limit, len(calls), calls)
	}
	got := map[float64]bool{}
	for _, c := range calls {
		checkSchema(t, c)
		pct, _ := c.Data["percent"].(float64)
		used, _ := c.Data["used"].(float64)
		got[pct] = true
		if c.Type != "usage.threshold" || c.Data["limit"] != limit || c.Data["plan"] != plan || c.Data["max"] != max ||
			c.Data["month"] != tenancy.Month(time.Now()) || used*100 < pct*max {
			t.Errorf("%s: event %+v", limit, c)
		}
	}
	if !got[80] || !got[100] {
		t.Errorf("%s: percents %v, want 80 and 100", limit, got)
	}
}

// TestUsageThresholdEvents: signing in the 4th and 5th user of a plan of
// 5 monthly active users sends usage.threshold at 80% and then 100% to a
// webhook, once each though more users sign in; creating the 4th and 5th
// client of a plan of 5 does the same; ten users signing in at once on a
// plan of ten, every one crossing together, still yield exactly one event
// per level.
func TestUsageThresholdEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := context.Background()
		platform := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "five", "limits": map[string]any{"mau": 5, "clients": 5}})
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "ten", "limits": map[string]any{"mau": 10}})

		tn, r := ta.thresholdTenant("metered", "five", platform)
		users := make([]*store.User, 6)
		for i := range users {
			users[i] = ta.user(tn.ID, fmt.Sprintf("u%d@example.com", i))
		}
		login := func(i int) {
			t.Helper()
			if _, _, err := ta.Sessions.Create(ctx, tn.ID, users[i].ID, []string{"pwd"}, "test", "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			login(i)
		}
		settle(t, ta)
		if n := len(r.calls()); n != 0 {
			t.Fatalf("at 60%% of the MAU limit: %d events", n)
		}
		login(3)
		drain(t, ta.quickDispatcher(), r, 1)
		if c := r.calls()[0]; c.Data["percent"] != 80.0 || c.Data["used"] != 4.0 {
			t.Errorf("at 4 of 5: %+v", c)
		}
		login(4)
		login(5)
		login(0)
		if err := ta.Meter.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		settle(t, ta)
		checkThresholds(t, r.calls(), "mau", 5, "five")

		before := len(r.calls())
		for range 3 {
			ta.registered(tn.ID, oauthclient.NewClient{})
		}
		settle(t, ta)
		if n := len(r.calls()) - before; n != 0 {
			t.Fatalf("3 of 5 clients: %d events", n)
		}
		ta.registered(tn.ID, oauthclient.NewClient{})
		ta.registered(tn.ID, oauthclient.NewClient{})
		if err := ta.Meter.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		settle(t, ta)
		checkThresholds(t, r.calls()[before:], "clients", 5, "five")

		crowd, rc := ta.thresholdTenant("crowd", "ten", platform)
		ids := make([]string, 10)
		for i := range ids {
			ids[i] = ta.user(crowd.ID, fmt.Sprintf("c%d@example.com", i)).ID
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					_, _, err := ta.Sessions.Create(ctx, crowd.ID, id, []string{"pwd"}, "test", "127.0.0.1")
					if err == nil || ctx.Err() != nil {
						return
					}
					// SQLite refuses a writer while another commits
					// beyond its busy timeout under this load; the login
					// is retried as a user would.
					t.Logf("concurrent login: %v; retrying", err)
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n, err := ta.DB.Usage().CountActive(ctx, crowd.ID, tenancy.Month(time.Now())); err != nil || n != 10 {
			t.Fatalf("MAU after the concurrent logins = %d, %v", n, err)
		}
		if err := ta.Meter.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		settle(t, ta)
		checkThresholds(t, rc.calls(), "mau", 10, "ten")
	})
}
