package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	secretRE   = regexp.MustCompile(`^gh_cs_[A-Za-z0-9_-]{43}$`)
	clientIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// clientBody decodes a client answer into a map, to see exactly which
// members it has.
func clientBody(t *testing.T, desc string, res *response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("%s: %v in %s", desc, err, res)
	}
	for _, k := range []string{"secret_hash", "SecretHash", "hash"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s: answer shows %s", desc, k)
		}
	}
	return m
}

// TestClientsAPI drives create, get, list, patch (with If-Match), rotate and
// delete over HTTP.
func TestClientsAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a := ta.tenant("tenant-a")
		tok := "Bearer " + ta.key(a.ID, "admin")
		read := "Bearer " + ta.key(a.ID, "read")
		base := "/api/v1/tenants/" + a.Slug + "/clients"

		// Create: 201, Location, ETag, the secret once.
		res := ta.do(request{method: "POST", path: base, auth: tok, body: map[string]any{
			"name": "Web app", "redirect_uris": []string{"https://app.example.com/cb", "http://127.0.0.1:8123/cb"},
			"scopes": []string{"openid", "profile"}, "access_token_ttl": 600, "claim_mappings": map[string]string{"dept": "department"},
		}})
		if res.status != http.StatusCreated {
			t.Fatalf("create: %s", res)
		}
		created := clientBody(t, "create", res)
		id, _ := created["client_id"].(string)
		secret, _ := created["client_secret"].(string)
		if !clientIDRE.MatchString(id) || !secretRE.MatchString(secret) {
			t.Fatalf("create: client_id %q, secret shape ok %v", id, secretRE.MatchString(secret))
		}
		if res.header.Get("Location") != base+"/"+id || res.header.Get("ETag") != `"1"` {
			t.Errorf("create headers: %v", res.header)
		}
		if created["token_endpoint_auth_method"] != "client_secret_basic" || created["has_secret"] != true ||
			created["access_token_ttl"] != 600.0 || created["refresh_token_ttl"] != 2592000.0 ||
			created["id_token_signed_response_alg"] != "RS256" || created["access_token_signed_response_alg"] != "ES256" {
			t.Errorf("create answer: %s", res.body)
		}
		stored, err := ta.Clients.GetClient(t.Context(), a.ID, id)
		if err != nil || !oauthclient.VerifySecret(stored, secret) {
			t.Fatalf("the answered secret is not the stored one: %v", err)
		}

		// Get and list never show the secret; read scope may GET.
		for _, path := range []string{base + "/" + id, base} {
			res := ta.do(request{method: "GET", path: path, auth: read})
			if res.status != http.StatusOK || strings.Contains(string(res.body), secret) ||
				strings.Contains(string(res.body), "client_secret\"") || !strings.Contains(string(res.body), id) {
				t.Errorf("GET %s: %s", path, res)
			}
		}
		if res := ta.do(request{method: "GET", path: base + "/" + id, auth: read}); res.header.Get("ETag") != `"1"` {
			t.Errorf("GET ETag %q", res.header.Get("ETag"))
		}
		// ...but not write.
		if res := ta.do(request{method: "POST", path: base + "/" + id + "/secret", auth: read}); res.status != http.StatusForbidden {
			t.Errorf("rotate with read scope: %s", res)
		}

		// Patch with the current ETag, then with the stale one: 412.
		res = ta.do(request{method: "PATCH", path: base + "/" + id, auth: tok, body: map[string]any{"name": "Renamed", "third_party": true},
			header: map[string]string{"If-Match": `"1"`}})
		if res.status != http.StatusOK || res.header.Get("ETag") != `"2"` {
			t.Fatalf("patch: %s %v", res, res.header)
		}
		if m := clientBody(t, "patch", res); m["name"] != "Renamed" || m["third_party"] != true || m["client_secret"] != nil {
			t.Errorf("patch answer: %s", res.body)
		}
		res = ta.do(request{method: "PATCH", path: base + "/" + id, auth: tok, body: map[string]any{"name": "Lost"},
			header: map[string]string{"If-Match": `"1"`}})
		if res.status != http.StatusPreconditionFailed {
			t.Errorf("stale If-Match: %s", res)
		} else if p := res.problem(t); p["type"] != "urn:gatehouse:problem:precondition-failed" {
			t.Errorf("stale If-Match: %v", p)
		}
		// Invalid input: 400 naming the field; unknown and fixed fields too.
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"redirect_uris": []string{"http://example.com/cb"}}, "redirect_uris"},
			{map[string]any{"redirect_uris": []string{"https://app.example.com/cb#frag"}}, "redirect_uris"},
			{map[string]any{"grant_types": []string{"password"}}, "grant_types"},
			{map[string]any{"public": true}, "public"},
			{map[string]any{"client_secret": "gh_cs_mine"}, "client_secret"},
			{map[string]any{"access_token_ttl": "15m"}, "access_token_ttl"},
		} {
			res := ta.do(request{method: "PATCH", path: base + "/" + id, auth: tok, body: c.body})
			if res.status != http.StatusBadRequest {
				t.Errorf("PATCH %v: %s, want 400", c.body, res)
				continue
			}
			if p := res.problem(t); p["field"] != c.field {
				t.Errorf("PATCH %v: field %v, want %s", c.body, p["field"], c.field)
			}
		}
		if res := ta.do(request{method: "POST", path: base, auth: tok, body: map[string]any{"name": "No URIs"}}); res.status != http.StatusBadRequest {
			t.Errorf("create without redirect URIs: %s", res)
		}
		if got, _ := ta.Clients.GetClient(t.Context(), a.ID, id); got.Name != "Renamed" || got.Version != 2 {
			t.Errorf("after refused patches: %+v", got)
		}

		// Rotate: a new secret, once; the old one stops working.
		res = ta.do(request{method: "POST", path: base + "/" + id + "/secret", auth: tok})
		if res.status != http.StatusOK || res.header.Get("ETag") != `"3"` {
			t.Fatalf("rotate: %s", res)
		}
		rotated, _ := clientBody(t, "rotate", res)["client_secret"].(string)
		if !secretRE.MatchString(rotated) || rotated == secret {
			t.Errorf("rotate: new secret shape ok %v, same as old %v", secretRE.MatchString(rotated), rotated == secret)
		}
		stored, _ = ta.Clients.GetClient(t.Context(), a.ID, id)
		if !oauthclient.VerifySecret(stored, rotated) || oauthclient.VerifySecret(stored, secret) {
			t.Error("after rotate the stored secret is not the new one alone")
		}

		// A public client: no secret, and none to rotate.
		res = ta.do(request{method: "POST", path: base, auth: tok, body: map[string]any{
			"name": "SPA", "public": true, "redirect_uris": []string{"https://spa.example.com/cb"}}})
		pub := clientBody(t, "create public", res)
		if res.status != http.StatusCreated || pub["client_secret"] != nil || pub["has_secret"] != false ||
			pub["token_endpoint_auth_method"] != "none" {
			t.Errorf("create public: %s", res)
		}
		pid, _ := pub["client_id"].(string)
		if res := ta.do(request{method: "POST", path: base + "/" + pid + "/secret", auth: tok}); res.status != http.StatusBadRequest {
			t.Errorf("rotate public: %s", res)
		}

		// List pages with a cursor.
		res = ta.do(request{method: "GET", path: base + "?limit=1", auth: read})
		var page struct {
			Items []map[string]any `json:"items"`
			Next  string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(res.body, &page); err != nil || len(page.Items) != 1 || page.Next == "" {
			t.Fatalf("list limit=1: %s", res)
		}
		res = ta.do(request{method: "GET", path: base + "?limit=1&cursor=" + page.Next, auth: read})
		if err := json.Unmarshal(res.body, &page); err != nil || len(page.Items) != 1 || page.Items[0]["client_id"] != pid {
			t.Errorf("list page 2: %s", res)
		}

		// Delete: 204, then 404.
		if res := ta.do(request{method: "DELETE", path: base + "/" + id, auth: tok}); res.status != http.StatusNoContent {
			t.Errorf("delete: %s", res)
		}
		for _, rq := range []request{
			{method: "GET", path: base + "/" + id},
			{method: "DELETE", path: base + "/" + id},
			{method: "POST", path: base + "/" + id + "/secret"},
			{method: "PATCH", path: base + "/" + id, body: map[string]any{"name": "X"}},
		} {
			rq.auth = tok
			if res := ta.do(rq); res.status != http.StatusNotFound {
				t.Errorf("%s after delete: %s", rq.method, res)
			}
		}
	})
}

// TestClientsAcrossTenants: a client of tenant B is not found under tenant
// A's path, by A's key or a platform key, and B's client is unchanged.
func TestClientsAcrossTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a, b := ta.tenant("tenant-a"), ta.tenant("tenant-b")
		cb := ta.client(b.ID, "b-client")
		for _, tok := range []string{ta.key(a.ID, "admin"), ta.key(store.PlatformTenant, "admin")} {
			pa := "/api/v1/tenants/" + a.Slug + "/clients/" + cb.ID
			for _, rq := range []request{
				{method: "GET", path: pa},
				{method: "PATCH", path: pa, body: map[string]any{"name": "Hijacked"}},
				{method: "POST", path: pa + "/secret"},
				{method: "DELETE", path: pa},
			} {
				rq.auth = "Bearer " + tok
				if res := ta.do(rq); res.status != http.StatusNotFound {
					t.Errorf("%s %s: %s, want 404", rq.method, rq.path, res)
				}
			}
			res := ta.get("/api/v1/tenants/"+a.Slug+"/clients", tok)
			if res.status != http.StatusOK || strings.Contains(string(res.body), cb.ID) {
				t.Errorf("A's list: %s", res)
			}
		}
		// A's key on B's path: B does not exist for it.
		res := ta.get("/api/v1/tenants/"+b.Slug+"/clients/"+cb.ID, ta.key(a.ID, "admin"))
		if res.status != http.StatusNotFound {
			t.Errorf("A's key on B's client: %s", res)
		}
		got, err := ta.Clients.GetClient(t.Context(), b.ID, cb.ID)
		if err != nil || got.Name != "b-client" || got.Version != 1 || string(got.SecretHash) != string(cb.SecretHash) {
			t.Errorf("B's client: %+v, %v", got, err)
		}
	})
}
