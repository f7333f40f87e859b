package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestCrossTenantIDs: an id of tenant B under tenant A's path is not found,
// for every kind of id and even for a platform key, and nothing of B
// changes.
func TestCrossTenantIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := context.Background()
		a, b := ta.tenant("tenant-a"), ta.tenant("tenant-b")
		fa, fb := ta.fixture(a, 1), ta.fixture(b, 2)
		tokens := map[string]string{
			"platform admin": ta.key(store.PlatformTenant, "admin"),
			"tenant a admin": ta.key(a.ID, "admin"),
		}
		pa := "/api/v1/tenants/" + a.Slug
		for name, tok := range tokens {
			for _, rq := range []request{
				{method: "GET", path: pa + "/users/" + fb.member.ID},
				{method: "PATCH", path: pa + "/users/" + fb.member.ID, body: map[string]string{"given_name": "X"}},
				{method: "DELETE", path: pa + "/users/" + fb.member.ID},
				{method: "GET", path: pa + "/users/" + fb.member.ID + "/groups"},
				{method: "GET", path: pa + "/groups/" + fb.group.ID},
				{method: "PATCH", path: pa + "/groups/" + fb.group.ID, body: map[string]string{"name": "X"}},
				{method: "DELETE", path: pa + "/groups/" + fb.group.ID},
				{method: "GET", path: pa + "/groups/" + fb.group.ID + "/members"},
				{method: "POST", path: pa + "/groups/" + fb.group.ID + "/members", body: map[string]string{"user_id": fa.outsider.ID}},
				{method: "DELETE", path: pa + "/groups/" + fb.group.ID + "/members/" + fb.member.ID},
				// B's user into A's group, B's group nested in A's.
				{method: "POST", path: pa + "/groups/" + fa.group.ID + "/members", body: map[string]string{"user_id": fb.outsider.ID}},
				{method: "POST", path: pa + "/groups/" + fa.group.ID + "/members", body: map[string]string{"group_id": fb.group.ID}},
				{method: "DELETE", path: pa + "/groups/" + fa.group.ID + "/members/" + fb.member.ID},
				// Keys: B's under A, the platform's under A, A's on the platform path.
				{method: "PATCH", path: pa + "/apikeys/" + fb.tenantKey, body: map[string]any{}},
				{method: "DELETE", path: pa + "/apikeys/" + fb.tenantKey},
				{method: "PATCH", path: pa + "/apikeys/" + fb.platformKey, body: map[string]any{}},
				{method: "DELETE", path: pa + "/apikeys/" + fb.platformKey},
				{method: "GET", path: pa + "/clients/" + fb.client.ID},
				{method: "PATCH", path: pa + "/clients/" + fb.client.ID, body: map[string]string{"name": "X"}},
				{method: "DELETE", path: pa + "/clients/" + fb.client.ID},
				{method: "POST", path: pa + "/clients/" + fb.client.ID + "/secret"},
			} {
				rq.auth = "Bearer " + tok
				res := ta.do(rq)
				if res.status != http.StatusNotFound {
					t.Errorf("%s %s as %s: %s, want 404", rq.method, rq.path, name, res)
				}
			}
		}
		// The platform path manages platform keys only.
		for _, rq := range []request{
			{method: "PATCH", path: "/api/v1/apikeys/" + fa.tenantKey, body: map[string]any{}},
			{method: "DELETE", path: "/api/v1/apikeys/" + fa.tenantKey},
		} {
			rq.auth = "Bearer " + tokens["platform admin"]
			if res := ta.do(rq); res.status != http.StatusNotFound {
				t.Errorf("%s %s: %s, want 404", rq.method, rq.path, res)
			}
		}

		// Nothing of B changed, nothing of B joined A.
		u, err := ta.Directory.GetUser(ctx, b.ID, fb.member.ID)
		if err != nil || u.GivenName != "" {
			t.Errorf("B's user: %+v, %v", u, err)
		}
		g, err := ta.Directory.GetGroup(ctx, b.ID, fb.group.ID)
		if err != nil || g.Name != "group-2" {
			t.Errorf("B's group: %+v, %v", g, err)
		}
		if ms, _ := ta.Directory.ListMembers(ctx, b.ID, fb.group.ID, store.Page{}); len(ms) != 1 {
			t.Errorf("B's group members: %v", ms)
		}
		if ms, _ := ta.Directory.ListMembers(ctx, a.ID, fa.group.ID, store.Page{}); len(ms) != 1 {
			t.Errorf("A's group members: %v", ms)
		}
		if cl, err := ta.Clients.GetClient(ctx, b.ID, fb.client.ID); err != nil || cl.Name != fb.client.Name ||
			!bytes.Equal(cl.SecretHash, fb.client.SecretHash) {
			t.Errorf("B's client: %+v, %v", cl, err)
		}
		for tn, id := range map[store.TenantID]string{b.ID: fb.tenantKey, a.ID: fa.tenantKey, store.PlatformTenant: fb.platformKey} {
			ks, _ := ta.Tenants.ListAPIKeys(ctx, tn)
			i := slices.IndexFunc(ks, func(k store.APIKey) bool { return k.ID == id })
			if i < 0 || ks[i].RevokedAt != nil || ks[i].ExpiresAt != nil {
				t.Errorf("key %s of %s changed: %+v", id, tn, ks)
			}
		}
	})
}

// TestTenantRef: the {tenant} segment is a slug or an id; anything else is
// 404, never 500.
func TestTenantRef(t *testing.T) {
	ta := newTestApp(t, backends[0])
	a, b := ta.tenant("tenant-a"), ta.tenant("tenant-b")
	pAdmin := ta.key(store.PlatformTenant, "admin")
	aAdmin := ta.key(a.ID, "admin")
	for _, tok := range []string{pAdmin, aAdmin} {
		for _, ref := range []string{a.Slug, string(a.ID)} {
			res := ta.get("/api/v1/tenants/"+ref, tok)
			if res.status != http.StatusOK || !strings.Contains(string(res.body), string(a.ID)) {
				t.Errorf("GET tenant %s: %s", ref, res)
			}
			if res := ta.get("/api/v1/tenants/"+ref+"/users", tok); res.status != http.StatusOK {
				t.Errorf("GET users of %s: %s", ref, res)
			}
		}
	}
	for _, ref := range []string{b.Slug, string(b.ID)} {
		if res := ta.get("/api/v1/tenants/"+ref+"/users", aAdmin); res.status != http.StatusNotFound {
			t.Errorf("tenant a key, GET users of %s: %s", ref, res)
		}
	}
	for _, ref := range []string{
		"nope", string(store.PlatformTenant), strings.ToUpper(a.Slug), strings.Repeat("a", 65),
		"00000000-0000-0000-0000-000000000000", "%00", "a'--", "%F0%28%8C%BC",
	} {
		for _, tok := range []string{pAdmin, aAdmin} {
			res := ta.get("/api/v1/tenants/"+ref+"/users", tok)
			if res.status != http.StatusNotFound {
				t.Errorf("GET /api/v1/tenants/%s/users: %s, want 404", ref, res)
			}
		}
	}
}

// TestMalformedIDs: ids that are not UUIDs are simply not found.
func TestMalformedIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a := ta.tenant("tenant-a")
		fx := ta.fixture(a, 1)
		tok := "Bearer " + ta.key(store.PlatformTenant, "admin")
		pa := "/api/v1/tenants/" + a.Slug
		for _, id := range []string{
			"x", "123", "not-a-uuid", strings.ToUpper(fx.member.ID), fx.member.ID + "0",
			"{" + fx.member.ID + "}", "urn:uuid:" + fx.member.ID, "%27%20OR%201=1--", strings.Repeat("f", 300),
		} {
			for _, rq := range []request{
				{method: "GET", path: pa + "/users/" + id},
				{method: "PATCH", path: pa + "/users/" + id, body: map[string]string{"given_name": "X"}},
				{method: "DELETE", path: pa + "/users/" + id},
				{method: "GET", path: pa + "/users/" + id + "/groups"},
				{method: "GET", path: pa + "/groups/" + id},
				{method: "GET", path: pa + "/groups/" + id + "/members"},
				{method: "DELETE", path: pa + "/groups/" + fx.group.ID + "/members/" + id},
				{method: "PATCH", path: pa + "/apikeys/" + id, body: map[string]any{}},
				{method: "DELETE", path: pa + "/apikeys/" + id},
				{method: "PATCH", path: "/api/v1/apikeys/" + id, body: map[string]any{}},
				{method: "DELETE", path: "/api/v1/apikeys/" + id},
				{method: "GET", path: pa + "/clients/" + id},
				{method: "PATCH", path: pa + "/clients/" + id, body: map[string]string{"name": "X"}},
				{method: "DELETE", path: pa + "/clients/" + id},
				{method: "POST", path: pa + "/clients/" + id + "/secret"},
			} {
				rq.auth = tok
				res := ta.do(rq)
				if res.status != http.StatusNotFound {
					t.Errorf("%s %s: %s, want 404", rq.method, rq.path, res)
					continue
				}
				if p := res.problem(t); p["type"] != "urn:gatehouse:problem:not-found" {
					t.Errorf("%s %s: problem %v", rq.method, rq.path, p)
				}
			}
		}
		// A member id of the wrong shape in a body is a 400, not a 500.
		res := ta.do(request{method: "POST", path: pa + "/groups/" + fx.group.ID + "/members", auth: tok,
			body: map[string]string{"user_id": "nope"}})
		if res.status != http.StatusBadRequest {
			t.Errorf("POST member nope: %s, want 400", res)
		}
	})
}

// TestUnknownAPIPath: anything under /api/ that is no route is a JSON 404,
// with or without a key.
func TestUnknownAPIPath(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tok := ta.key(store.PlatformTenant, "admin")
	for _, path := range []string{
		"/api/", "/api/v1", "/api/v1/", "/api/v1/nope", "/api/v2/tenants", "/api/v1/tenants/default/nope",
		"/api/v1/tenants/default/users/x/y/z", "/api/v1/openapi.yaml",
	} {
		for _, token := range []string{"", tok} {
			res := ta.get(path, token)
			if res.status != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404", path, res)
				continue
			}
			if p := res.problem(t); p["type"] != "urn:gatehouse:problem:not-found" || p["status"] != 404.0 {
				t.Errorf("GET %s: problem %v", path, p)
			}
		}
	}
}

// TestMethodNotAllowed: a method a known path does not answer is 405 with
// Allow, as a problem.
func TestMethodNotAllowed(t *testing.T) {
	ta := newTestApp(t, backends[0])
	a := ta.tenant("tenant-a")
	fx := ta.fixture(a, 1)
	tok := "Bearer " + ta.key(store.PlatformTenant, "admin")
	for _, c := range []struct {
		method, path string
		allow        []string
	}{
		{"PUT", "/api/v1/tenants", []string{"GET", "POST"}},
		{"DELETE", "/api/v1/tenants", []string{"GET", "POST"}},
		{"POST", "/api/v1/tenants/" + a.Slug, []string{"DELETE", "GET", "PATCH"}},
		{"PUT", "/api/v1/tenants/" + a.Slug + "/users/" + fx.member.ID, []string{"DELETE", "GET", "PATCH"}},
		{"POST", "/api/v1/openapi.json", []string{"GET"}},
		{"DELETE", "/api/v1/tenants/" + a.Slug + "/audit", []string{"GET"}},
		{"GET", "/api/v1/tenants/" + a.Slug + "/groups/" + fx.group.ID + "/members/" + fx.member.ID, []string{"DELETE"}},
	} {
		for _, auth := range []string{"", tok} {
			res := ta.do(request{method: c.method, path: c.path, auth: auth})
			if res.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %s, want 405", c.method, c.path, res)
				continue
			}
			allow := strings.Split(strings.ReplaceAll(res.header.Get("Allow"), " ", ""), ",")
			for _, m := range c.allow {
				if !slices.Contains(allow, m) {
					t.Errorf("%s %s: Allow %q lacks %s", c.method, c.path, res.header.Get("Allow"), m)
				}
			}
			if p := res.problem(t); p["status"] != 405.0 {
				t.Errorf("%s %s: problem %v", c.method, c.path, p)
			}
		}
	}
	// Nothing happened to the resources named.
	if _, err := ta.Tenants.Resolve(context.Background(), a.Slug); err != nil {
		t.Error(err)
	}
}

// TestAPIBodyDuplicateKeysAndUTF8: a body with a member name twice in one
// object (at the top or nested) or with bytes that are not UTF-8 is a 400
// problem naming the problem, and nothing is created.
func TestAPIBodyDuplicateKeysAndUTF8(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("acme")
	path := "/api/v1/tenants/" + string(tn.ID) + "/users"
	key := ta.key(tn.ID, "admin")
	for _, tc := range []struct{ name, body, field, detail string }{
		{"duplicate top-level", `{"email":"ada@example.com","email":"eve@example.com"}`, "email", `Field "email" appears more than once in one object.`},
		{"duplicate nested", `{"email":"ada@example.com","attributes":{"dept":"a","dept":"b"}}`, "dept", `Field "dept" appears more than once in one object.`},
		{"invalid UTF-8", "{\"email\":\"ada\xff@example.com\"}", "", "The body is not valid UTF-8."},
		{"lone surrogate byte", "{\"email\":\"ada@example.com\",\"given_name\":\"\xed\xa0\x80\"}", "", "The body is not valid UTF-8."},
	} {
		req, err := http.NewRequest(http.MethodPost, ta.srv.URL+path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := ta.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r := &response{status: res.StatusCode, header: res.Header, body: b}
		p := r.problem(t)
		if r.status != http.StatusBadRequest || p["detail"] != tc.detail || (tc.field != "" && p["field"] != tc.field) {
			t.Errorf("%s: %d %v, want 400 with detail %q field %q", tc.name, r.status, p, tc.detail, tc.field)
		}
	}
	if r := ta.get(path, key); !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("users after refused bodies: %s", r.body)
	}
	// The same body without the duplicate goes through.
	if r := ta.do(request{method: http.MethodPost, path: path, auth: "Bearer " + key, body: map[string]any{"email": "ada@example.com"}}); r.status != http.StatusCreated {
		t.Errorf("a clean body: %s", r)
	}
}
