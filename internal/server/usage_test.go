package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// monthClock is a clock tests move between months.
type monthClock struct{ at atomic.Int64 }

func (c *monthClock) set(month string) {
	t, err := time.Parse("2006-01-02", month+"-15")
	if err != nil {
		panic(err)
	}
	c.at.Store(t.UnixMicro())
}

func (c *monthClock) now() time.Time { return time.UnixMicro(c.at.Load()).UTC() }

// usage reads a tenant's usage through the API.
func (ta *testApp) usage(tenant, month, token string) map[string]any {
	ta.t.Helper()
	res := ta.get("/api/v1/tenants/"+tenant+"/usage?month="+month, token)
	if res.status != http.StatusOK {
		ta.t.Fatalf("usage %s %s: %s", tenant, month, res)
	}
	var out map[string]any
	if err := json.Unmarshal(res.body, &out); err != nil {
		ta.t.Fatal(err)
	}
	return out
}

// TestMonthlyActiveUsers: three users signing in ten times over two
// months are three active users in each month and none in the month
// between; the answer has exactly the documented shape, counts logins and
// failures, and a tenant key reads only its own tenant.
func TestMonthlyActiveUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		clock := &monthClock{}
		clock.set("2026-01")
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clock.now})
		tn := ta.tenant("metered")
		ta.tenant("other")
		emails := []string{"ana@example.com", "bo@example.com", "cy@example.com"}
		for _, e := range emails {
			ta.userWithPassword(tn.ID, e, "correct horse battery")
		}
		logins := map[string][]int{"2026-01": {0, 0, 0, 1, 1, 2}, "2026-03": {0, 1, 2, 2}}
		for _, month := range []string{"2026-01", "2026-03"} {
			clock.set(month)
			for _, i := range logins[month] {
				ta.browser().signIn("metered", emails[i], "correct horse battery")
			}
		}
		if ta.browser().passwordSignIn("metered", emails[0], "wrong password!") {
			t.Fatal("a wrong password signed in")
		}
		key := ta.key(tn.ID, tenancy.ScopeRead)
		for month, want := range map[string]struct{ mau, ok, failed float64 }{
			"2026-01": {3, 6, 0}, "2026-02": {0, 0, 0}, "2026-03": {3, 4, 1}, "2025-12": {0, 0, 0},
		} {
			u := ta.usage("metered", month, key)
			var keys []string
			for k := range u {
				keys = append(keys, k)
			}
			if len(u) != 8 || u["month"] != month || u["mau"] != want.mau ||
				u["logins"].(map[string]any)["succeeded"] != want.ok || u["logins"].(map[string]any)["failed"] != want.failed {
				t.Errorf("usage %s = %v (keys %v), want mau %v logins %v/%v", month, u, keys, want.mau, want.ok, want.failed)
			}
			for _, k := range []string{"signups", "api_calls", "saml_assertions", "mails"} {
				if _, ok := u[k].(float64); !ok {
					t.Errorf("usage %s: %s = %v, want a number", month, k, u[k])
				}
			}
			if _, ok := u["tokens"].(map[string]any); !ok {
				t.Errorf("usage %s: tokens = %v, want an object", month, u["tokens"])
			}
		}
		if res := ta.get("/api/v1/tenants/other/usage?month=2026-01", key); res.status != http.StatusNotFound {
			t.Errorf("another tenant's usage with a tenant key: %s, want 404", res)
		}
		if res := ta.get("/api/v1/tenants/metered/usage?month=2026-1", key); res.status != http.StatusBadRequest {
			t.Errorf("month 2026-1: %s, want 400", res)
		}
		if res := ta.get("/api/v1/usage?month=2026-01", key); res.status != http.StatusForbidden {
			t.Errorf("every tenant's usage with a tenant key: %s, want 403", res)
		}
		res := ta.get("/api/v1/usage?month=2026-01", ta.key(store.PlatformTenant, tenancy.ScopeRead))
		var all struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(res.body, &all); err != nil || res.status != http.StatusOK {
			t.Fatalf("all usage: %s", res)
		}
		seen := map[string]float64{}
		for _, it := range all.Items {
			seen[it["tenant_slug"].(string)] = it["mau"].(float64)
		}
		if seen["metered"] != 3 || seen["other"] != 0 || len(seen) != 2 {
			t.Errorf("all usage MAU = %v, want metered 3, other 0", seen)
		}
	})
}

// TestMAUExactAcrossRestart: logins racing a store that closes under them
// count every user that got a session exactly once; after a restart on
// the same database the same users signing in again change nothing.
func TestMAUExactAcrossRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		cfg := testConfig(t, be.db(t))
		app, err := OpenWith(context.Background(), cfg, discardLog(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tn, err := app.Tenants.CreateTenant(ctx, testActor, tenancy.NewTenant{Slug: "crashy", Name: "Crashy"})
		if err != nil {
			t.Fatal(err)
		}
		var users []string
		for i := range 20 {
			u, err := app.Directory.CreateUser(ctx, testActor, tn.ID, directoryUser(i))
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u.ID)
		}
		var (
			mu  sync.Mutex
			got = map[string]bool{}
			wg  sync.WaitGroup
		)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					id := users[(w*7+i)%len(users)]
					if _, _, err := app.Sessions.Create(ctx, tn.ID, id, []string{"pwd"}, "test", "127.0.0.1"); err == nil {
						mu.Lock()
						got[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		app.Close() // the node goes away mid-load
		wg.Wait()

		again, err := OpenWith(ctx, cfg, discardLog(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		month := tenancy.Month(time.Now())
		n, err := again.DB.Usage().CountActive(ctx, tn.ID, month)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(got)) {
			t.Errorf("MAU after the crash = %d, want %d (users with a session)", n, len(got))
		}
		for _, id := range users {
			if _, _, err := again.Sessions.Create(ctx, tn.ID, id, []string{"pwd"}, "test", "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := again.Sessions.Create(ctx, tn.ID, id, []string{"pwd"}, "test", "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := again.DB.Usage().CountActive(ctx, tn.ID, month); err != nil || n != int64(len(users)) {
			t.Errorf("MAU after restart and two logins each = %d, %v; want %d", n, err, len(users))
		}
	})
}

// TestHardMAULimit: on a plan whose hard MAU limit is 2, a third user is
// refused with a page saying so while the first two still sign in; the
// next month the third signs in. A soft plan serves the third.
func TestHardMAULimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		clock := &monthClock{}
		clock.set("2026-05")
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clock.now})
		platform := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "tiny", "limits": map[string]any{"mau": 2}, "overage": "hard"})
		ta.mustAPI("POST", "/api/v1/tenants", platform, map[string]any{"slug": "capped", "name": "Capped", "plan": "tiny"})
		tn, err := ta.Tenants.Resolve(context.Background(), "capped")
		if err != nil {
			t.Fatal(err)
		}
		emails := []string{"one@example.com", "two@example.com", "three@example.com"}
		for _, e := range emails {
			ta.userWithPassword(tn.ID, e, "correct horse battery")
		}
		ta.browser().signIn("capped", emails[0], "correct horse battery")
		ta.browser().signIn("capped", emails[1], "correct horse battery")
		b := ta.browser()
		tok := b.csrf("/t/capped/account/login")
		p := b.post("/t/capped/account/login", form("csrf", tok, "identifier", emails[2], "password", "correct horse battery"))
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "limit of active users") {
			t.Fatalf("third user on a full hard plan: %d %.300s", p.status, p.body)
		}
		ta.browser().signIn("capped", emails[0], "correct horse battery") // already active: served
		if u := ta.usage("capped", "2026-05", platform); u["mau"] != 2.0 {
			t.Errorf("MAU = %v, want 2", u["mau"])
		}
		audit := ta.get("/api/v1/tenants/capped/audit?limit=100", platform)
		if c := strings.Count(string(audit.body), `"usage.threshold"`); c != 2 {
			t.Errorf("usage.threshold entries = %d, want 2 (80%% and 100%% once each): %.500s", c, audit.body)
		}
		clock.set("2026-06")
		ta.browser().signIn("capped", emails[2], "correct horse battery")
		clock.set("2026-05")
		ta.mustAPI("PATCH", "/api/v1/plans/tiny", platform, map[string]any{"overage": "soft"})
		ta.browser().signIn("capped", emails[2], "correct horse battery")
		if u := ta.usage("capped", "2026-05", platform); u["mau"] != 3.0 {
			t.Errorf("MAU on a soft plan past its limit = %v, want 3 (the overage recorded)", u["mau"])
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func directoryUser(i int) directory.NewUser {
	return directory.NewUser{Email: fmt.Sprintf("user%d@example.com", i)}
}

// TestTokensMetered: the tokens a code exchange and a refresh issue are
// counted by grant, and a refresh in a new month counts its user active
// in that month though the sign-in was in the month before.
func TestTokensMetered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		clock := &monthClock{}
		clock.at.Store(time.Date(2026, 1, 31, 23, 50, 0, 0, time.UTC).UnixMicro())
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clock.now})
		tn := ta.tenant("tokens")
		ta.userWithPassword(tn.ID, "ana@example.com", "correct horse battery")
		c, secret := ta.registered(tn.ID, oauthclient.NewClient{})
		conf := ta.oauthConfig("tokens", c, secret)
		conf.Scopes = append(conf.Scopes, "offline_access")
		tok := ta.userToken("tokens", conf, "ana@example.com", "correct horse battery")
		clock.at.Store(time.Date(2026, 2, 1, 0, 10, 0, 0, time.UTC).UnixMicro())
		if !refreshes(conf, tok) {
			t.Fatal("refresh failed")
		}
		key := ta.key(tn.ID, tenancy.ScopeRead)
		jan, feb := ta.usage("tokens", "2026-01", key), ta.usage("tokens", "2026-02", key)
		if jan["mau"] != 1.0 || feb["mau"] != 1.0 {
			t.Errorf("MAU January %v, February %v; want 1 and 1", jan["mau"], feb["mau"])
		}
		if got := jan["tokens"].(map[string]any)["authorization_code"]; got != 1.0 {
			t.Errorf("January tokens = %v, want authorization_code 1", jan["tokens"])
		}
		if got := feb["tokens"].(map[string]any)["refresh_token"]; got != 1.0 {
			t.Errorf("February tokens = %v, want refresh_token 1", feb["tokens"])
		}
	})
}
