package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestPlanQuotas: on a plan of 5 clients, 2 connections and 1 SAML
// provider, the next one of each is refused 403 with the quota-exceeded
// problem naming the limit and the plan, and nothing is created; moved to
// a bigger plan, the same request succeeds. Off every plan: unlimited.
func TestPlanQuotas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "free",
			// api_rps is the tenant's rate limit; high here, as this test
			// sends its API calls back to back (rate limits: ratelimit_test.go).
			"limits":  map[string]any{"mau": 7000, "clients": 5, "connections": 2, "saml_sps": 1, "api_rps": 10000, "signups_per_hour": 100},
			"overage": "soft"})
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "pro",
			"limits": map[string]any{"clients": 50, "connections": 20, "saml_sps": 10}})
		if got := ta.mustAPI("POST", "/api/v1/tenants", platform, map[string]any{"slug": "quota", "name": "Quota", "plan": "free"}); got["plan"] != "free" {
			t.Fatalf("created tenant's plan = %v, want free", got["plan"])
		}
		tp := "/api/v1/tenants/quota"
		admin := ta.key(mustTenant(t, ta, "quota"), tenancy.ScopeAdmin)
		kinds := []struct {
			limit, path string
			max         int
			body        func(n int) any
		}{
			{"clients", "/clients", 5, func(n int) any {
				return map[string]any{"name": fmt.Sprintf("app-%d", n), "redirect_uris": []string{"https://app.example.com/cb"}}
			}},
			{"connections", "/connections", 2, func(n int) any {
				return map[string]any{"type": "github", "name": fmt.Sprintf("gh-%d", n), "client_id": "id", "client_secret": "s"}
			}},
			{"saml_sps", "/saml/sps", 1, func(n int) any {
				return map[string]any{"entity_id": fmt.Sprintf("https://sp%d.example.com", n),
					"acs": []map[string]any{{"location": "https://sp.example.com/acs"}}}
			}},
		}
		for _, k := range kinds {
			for n := range k.max {
				ta.mustAPI("POST", tp+k.path, admin, k.body(n))
			}
			res := ta.do(request{method: http.MethodPost, path: tp + k.path, auth: "Bearer " + admin, body: k.body(k.max)})
			if res.status != http.StatusForbidden {
				t.Fatalf("%s number %d on free: %s, want 403", k.limit, k.max+1, res)
			}
			p := res.problem(t)
			if p["type"] != "urn:gatehouse:problem:quota-exceeded" || p["limit"] != k.limit || p["plan"] != "free" {
				t.Errorf("%s quota problem = %v", k.limit, p)
			}
		}
		// A tenant's own admin key cannot move its tenant to a bigger plan.
		if res := ta.do(request{method: http.MethodPatch, path: tp, auth: "Bearer " + admin, body: map[string]any{"plan": "pro"}}); res.status != http.StatusForbidden {
			t.Fatalf("tenant key changing its own plan: %s, want 403", res)
		}
		if got := ta.mustAPI("PATCH", tp, platform, map[string]any{"plan": "pro"}); got["plan"] != "pro" {
			t.Fatalf("patched tenant's plan = %v, want pro", got["plan"])
		}
		for _, k := range kinds {
			ta.mustAPI("POST", tp+k.path, admin, k.body(k.max))
		}
		if res := ta.do(request{method: http.MethodDelete, path: "/api/v1/plans/pro", auth: "Bearer " + platform}); res.status != http.StatusConflict {
			t.Errorf("deleting a plan a tenant is on: %s, want 409", res)
		}
		if res := ta.do(request{method: http.MethodPatch, path: tp, auth: "Bearer " + platform, body: map[string]any{"plan": "nope"}}); res.status != http.StatusBadRequest {
			t.Errorf("unknown plan: %s, want 400", res)
		}
		ta.mustAPI("PATCH", tp, platform, map[string]any{"plan": ""})
		ta.mustAPI("DELETE", "/api/v1/plans/pro", platform, nil)
		if res := ta.get("/api/v1/plans/pro", platform); res.status != http.StatusNotFound {
			t.Errorf("deleted plan: %s, want 404", res)
		}
		for n := range 3 { // no plan: unlimited
			ta.mustAPI("POST", tp+"/saml/sps", admin, kinds[2].body(10+n))
		}
		for _, bad := range []map[string]any{{"name": "Bad Name"}, {"name": "neg", "limits": map[string]any{"mau": -1}},
			{"name": "ov", "overage": "maybe"}, {"name": "x", "limits": map[string]any{"seats": 1}}} {
			if res := ta.do(request{method: http.MethodPost, path: "/api/v1/plans", auth: "Bearer " + platform, body: bad}); res.status != http.StatusBadRequest {
				t.Errorf("plan %v: %s, want 400", bad, res)
			}
		}
		if u := ta.usage("quota", tenancy.Month(ta.now()), admin); u["api_calls"].(float64) < 10 {
			t.Errorf("api_calls = %v, want the tenant key's calls counted", u["api_calls"])
		}
	})
}

func mustTenant(t *testing.T, ta *testApp, slug string) store.TenantID {
	t.Helper()
	tn, err := ta.Tenants.Resolve(t.Context(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// TestPlanSignupsPerHour: a plan's signups_per_hour caps the tenant's
// self-service sign-ups together: past it the sign-up page answers 429,
// and the sign-ups that went through and their mails are counted.
func TestPlanSignupsPerHour(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "trickle", "limits": map[string]any{"signups_per_hour": 2}})
		ta.mustAPI("POST", "/api/v1/tenants", platform, map[string]any{"slug": "shop", "name": "Shop", "plan": "trickle"})
		ta.mustAPI("PATCH", "/api/v1/tenants/shop", platform, map[string]any{"settings": map[string]any{"self_service": map[string]any{"signup": "open"}}})
		ta.browser().signUpAt("shop", "one@example.com", "correct horse battery")
		ta.browser().signUpAt("shop", "two@example.com", "correct horse battery")
		b := ta.browser()
		tok := b.csrf("/t/shop/signup")
		if p := b.post("/t/shop/signup", form("csrf", tok, "email", "three@example.com", "password", "correct horse battery")); p.status != http.StatusTooManyRequests {
			t.Errorf("third sign-up in the hour on a plan of 2: %d, want 429", p.status)
		}
		if got := len(ta.mails()); got != 2 {
			t.Fatalf("%d mails delivered, want the 2 verification mails", got)
		}
		if u := ta.usage("shop", tenancy.Month(ta.now()), platform); u["signups"] != 2.0 || u["mails"] != 2.0 {
			t.Errorf("signups = %v, mails = %v; want 2 and 2", u["signups"], u["mails"])
		}
	})
}
