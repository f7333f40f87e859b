package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// access is what a route demands, written down here independently of the
// route table so that a change of either shows up as a failure.
type access int

const (
	public         access = iota // no key at all
	platformOnly                 // a platform key: admin, or read for GET
	platformTenant               // a platform admin key, on a tenant path (DELETE tenant)
	tenantRead                   // read or admin in the route's tenant (or platform)
	tenantAdmin                  // admin in the route's tenant (or platform)
	tenantAudit                  // audit:read or admin in the route's tenant (or platform)
	tenantQuery                  // read or admin in the route's tenant (or platform), any method (authz check)
)

// matrixRow is one operation of the API.
type matrixRow struct {
	method, path string
	access       access
	// fresh: the allowed request changes or destroys its target, so it
	// gets targets of its own (denied requests use the shared ones, which
	// must come out unchanged).
	fresh bool
	// deleted: the fresh target tenant is deleted first (restore).
	deleted bool
	body    func(fx *fixture, n int) any
}

const tp = "/api/v1/tenants/{tenant}"

// matrixPurpose names the consent purpose GET .../consent-purposes/{name} reads.
const matrixPurpose = "matrix-purpose"

// configBody declares the fixture's tenant as it is (a plan of no changes).
func configBody(fx *fixture, _ int) any {
	return map[string]any{"files": []map[string]string{{"name": "matrix.yaml",
		"content": "tenants:\n  - slug: " + fx.tenant.Slug + "\n"}}}
}

// matrix must list every operation of openapi.json (TestAuthzMatrix checks).
var matrix = []matrixRow{
	{method: "GET", path: "/api/v1/openapi.json", access: public},

	{method: "GET", path: "/api/v1/tenants", access: platformOnly},
	{method: "POST", path: "/api/v1/tenants", access: platformOnly,
		body: func(_ *fixture, n int) any { return map[string]string{"slug": fmt.Sprintf("new-%d", n), "name": "New"} }},
	{method: "GET", path: tp, access: tenantRead},
	{method: "PATCH", path: tp, access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return map[string]string{"name": fx.tenant.Name} }},
	{method: "DELETE", path: tp, access: platformTenant, fresh: true},
	{method: "POST", path: tp + "/restore", access: platformTenant, fresh: true, deleted: true},
	{method: "GET", path: tp + "/usage", access: tenantRead},
	{method: "GET", path: tp + "/risk/model", access: tenantRead},
	{method: "GET", path: tp + "/profile-schema", access: tenantRead},
	{method: "PUT", path: tp + "/profile-schema", access: tenantAdmin, fresh: true,
		body: func(*fixture, int) any { return map[string]any{"fields": []any{}} }},
	{method: "GET", path: "/api/v1/usage", access: platformOnly},
	{method: "GET", path: "/api/v1/plans", access: platformOnly},
	{method: "POST", path: "/api/v1/plans", access: platformOnly,
		body: func(_ *fixture, n int) any { return map[string]string{"name": fmt.Sprintf("new-%d", n)} }},
	{method: "GET", path: "/api/v1/plans/{name}", access: platformOnly},
	{method: "PATCH", path: "/api/v1/plans/{name}", access: platformOnly, fresh: true,
		body: func(*fixture, int) any { return map[string]string{"overage": "hard"} }},
	{method: "DELETE", path: "/api/v1/plans/{name}", access: platformOnly, fresh: true},

	{method: "GET", path: tp + "/users", access: tenantRead},
	{method: "POST", path: tp + "/users", access: tenantAdmin,
		body: func(_ *fixture, n int) any { return map[string]string{"email": fmt.Sprintf("new%d@example.com", n)} }},
	{method: "GET", path: tp + "/users/export", access: tenantAdmin},
	{method: "GET", path: tp + "/users/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/users/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]string{"given_name": "Pat"} }},
	{method: "DELETE", path: tp + "/users/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/users/{id}/groups", access: tenantRead},
	{method: "GET", path: tp + "/users/{id}/sessions", access: tenantRead},
	{method: "DELETE", path: tp + "/users/{id}/sessions", access: tenantAdmin},
	{method: "GET", path: tp + "/users/{id}/consents", access: tenantRead},
	{method: "DELETE", path: tp + "/users/{id}/consents/{client}", access: tenantAdmin},
	{method: "GET", path: tp + "/users/{id}/grants", access: tenantRead},
	{method: "DELETE", path: tp + "/users/{id}/grants/{grant_id}", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/invitations", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]string{"email": fmt.Sprintf("invited%d@example.com", n)}
		}},
	{method: "GET", path: tp + "/consent-purposes", access: tenantRead},
	{method: "POST", path: tp + "/consent-purposes", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("matrix-%d", n), "version": "1", "title": map[string]string{"en": "Matrix"}}
		}},
	{method: "GET", path: tp + "/consent-purposes/{name}", access: tenantRead},
	{method: "GET", path: tp + "/users/{id}/consent-records", access: tenantRead},
	{method: "POST", path: tp + "/users/{id}/consent-records", access: tenantAdmin, fresh: true,
		body: func(*fixture, int) any { return map[string]string{"purpose": "ccpa.do_not_sell", "state": "granted"} }},
	{method: "GET", path: tp + "/users/{id}/preferences", access: tenantRead},
	{method: "PUT", path: tp + "/users/{id}/preferences", access: tenantAdmin, fresh: true,
		body: func(*fixture, int) any { return map[string]any{"channels": map[string]bool{"email": true}} }},
	{method: "GET", path: tp + "/announcements", access: tenantRead},
	{method: "POST", path: tp + "/announcements", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"title": map[string]string{"en": fmt.Sprintf("News %d", n)},
				"body": map[string]string{"en": "Text."}, "channels": []string{"account_page"}}
		}},
	{method: "GET", path: tp + "/announcements/{id}", access: tenantRead},
	{method: "DELETE", path: tp + "/announcements/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/adoption", access: tenantRead},
	{method: "GET", path: tp + "/webhooks", access: tenantRead},
	{method: "POST", path: tp + "/webhooks", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"url": fmt.Sprintf("https://new-%d.example.com/hook", n), "events": []string{"user.created"}}
		}},
	{method: "GET", path: tp + "/webhooks/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/webhooks/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]string{"description": "patched"} }},
	{method: "DELETE", path: tp + "/webhooks/{id}", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/webhooks/{id}/rotate-secret", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]int{"overlap_seconds": 60} }},
	{method: "GET", path: tp + "/webhooks/{id}/deliveries", access: tenantRead},
	{method: "POST", path: tp + "/webhooks/{id}/deliveries/{did}/retry", access: tenantAdmin},
	{method: "GET", path: tp + "/events", access: tenantAudit},
	{method: "GET", path: tp + "/provisioning-targets", access: tenantRead},
	{method: "POST", path: tp + "/provisioning-targets", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("app-%d", n), "base_url": "http://127.0.0.1:1/scim/v2", "bearer_token": "t"}
		}},
	{method: "GET", path: tp + "/provisioning-targets/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/provisioning-targets/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]string{"name": "patched"} }},
	{method: "DELETE", path: tp + "/provisioning-targets/{id}", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/provisioning-targets/{id}/sync", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/provisioning-targets/{id}/errors", access: tenantRead},
	{method: "GET", path: tp + "/users/{id}/factors", access: tenantRead},
	{method: "DELETE", path: tp + "/users/{id}/factors", access: tenantAdmin},

	{method: "GET", path: tp + "/groups", access: tenantRead},
	{method: "POST", path: tp + "/groups", access: tenantAdmin,
		body: func(_ *fixture, n int) any { return map[string]string{"name": fmt.Sprintf("new-group-%d", n)} }},
	{method: "GET", path: tp + "/groups/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/groups/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]string{"description": "patched"} }},
	{method: "DELETE", path: tp + "/groups/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/groups/{id}/members", access: tenantRead},
	{method: "POST", path: tp + "/groups/{id}/members", access: tenantAdmin, fresh: true,
		body: func(fx *fixture, _ int) any { return map[string]string{"user_id": fx.outsider.ID} }},
	{method: "DELETE", path: tp + "/groups/{id}/members/{member}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/apikeys", access: tenantAdmin},
	{method: "POST", path: tp + "/apikeys", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]any{"scopes": []string{"read"}} }},
	{method: "PATCH", path: tp + "/apikeys/{id}", access: tenantAdmin, fresh: true,
		body: func(*fixture, int) any { return map[string]any{} }},
	{method: "DELETE", path: tp + "/apikeys/{id}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/clients", access: tenantRead},
	{method: "POST", path: tp + "/clients", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("new-client-%d", n), "redirect_uris": []string{"https://app.example.com/cb"}}
		}},
	{method: "GET", path: tp + "/clients/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/clients/{id}", access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return map[string]string{"name": fx.client.Name} }},
	{method: "DELETE", path: tp + "/clients/{id}", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/clients/{id}/secret", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/saml/sps", access: tenantRead},
	{method: "POST", path: tp + "/saml/sps", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"entity_id": fmt.Sprintf("https://sp%d.example.com", n),
				"acs": []map[string]any{{"location": "https://sp.example.com/acs"}}}
		}},
	{method: "GET", path: tp + "/saml/sps/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/saml/sps/{id}", access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return map[string]string{"name": fx.samlSP.Name} }},
	{method: "DELETE", path: tp + "/saml/sps/{id}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/hooks", access: tenantRead},
	// fresh: each allowed POST gets a tenant without a pre_registration hook.
	{method: "POST", path: tp + "/hooks", access: tenantAdmin, fresh: true,
		body: func(*fixture, int) any {
			return map[string]any{"trigger": "pre_registration", "url": "https://hooks.example.com/pre-registration"}
		}},
	{method: "GET", path: tp + "/hooks/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/hooks/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]int{"timeout_ms": 2000} }},
	{method: "DELETE", path: tp + "/hooks/{id}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/proxy-apps", access: tenantRead},
	{method: "POST", path: tp + "/proxy-apps", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("wiki-%d", n), "domains": []string{fmt.Sprintf("wiki%d.example.com", n)}}
		}},
	{method: "GET", path: tp + "/proxy-apps/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/proxy-apps/{id}", access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return map[string]string{"name": fx.proxyApp.Name} }},
	{method: "DELETE", path: tp + "/proxy-apps/{id}", access: tenantAdmin, fresh: true},

	{method: "POST", path: tp + "/registration-tokens", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]int{"max_uses": 1, "expires_in": 3600} }},
	{method: "GET", path: tp + "/authorization-detail-types", access: tenantRead},
	{method: "PUT", path: tp + "/authorization-detail-types/{type}", access: tenantAdmin,
		body: func(*fixture, int) any { return matrixDetailType }},
	{method: "DELETE", path: tp + "/authorization-detail-types/{type}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/domains", access: tenantRead},
	{method: "POST", path: tp + "/domains", access: tenantAdmin,
		body: func(_ *fixture, n int) any { return map[string]string{"host": fmt.Sprintf("new%d.matrix.test", n)} }},
	{method: "GET", path: tp + "/domains/{host}", access: tenantRead},
	{method: "POST", path: tp + "/domains/{host}/verify", access: tenantAdmin},
	{method: "PUT", path: tp + "/domains/{host}/certificate", access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return certificateBody(fx.domain) }},
	{method: "DELETE", path: tp + "/domains/{host}", access: tenantAdmin, fresh: true},

	{method: "GET", path: tp + "/audit", access: tenantAudit},
	{method: "GET", path: tp + "/audit/verify", access: tenantAudit},
	{method: "POST", path: tp + "/imports", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return importUpload(map[string]string{"format": "csv", "dry_run": "true"}, fmt.Sprintf("email\nimport%d@example.com\n", n))
		}},
	{method: "GET", path: tp + "/imports/{id}", access: tenantAdmin},
	{method: "GET", path: tp + "/credentials/summary", access: tenantRead},

	// Authorization; targets in authz_fixture_test.go.
	{method: "GET", path: tp + "/roles", access: tenantRead},
	{method: "POST", path: tp + "/roles", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("new-role-%d", n), "permissions": []string{"a:b"}}
		}},
	{method: "GET", path: tp + "/roles/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/roles/{id}", access: tenantAdmin,
		body: func(*fixture, int) any { return map[string]string{"description": "patched"} }},
	{method: "DELETE", path: tp + "/roles/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/roles/{id}/assignments", access: tenantRead},
	{method: "GET", path: tp + "/users/{id}/roles", access: tenantRead},
	{method: "POST", path: tp + "/users/{id}/roles", access: tenantAdmin, fresh: true,
		body: func(fx *fixture, _ int) any { return map[string]string{"role": fx.az.role.Name} }},
	{method: "DELETE", path: tp + "/users/{id}/roles/{role}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/users/{id}/effective-roles", access: tenantRead},
	{method: "POST", path: tp + "/users/{id}/elevations", access: tenantAdmin,
		body: func(fx *fixture, _ int) any {
			return map[string]string{"role": fx.az.privRole.Name, "reason": "matrix", "duration": "1h"}
		}},
	{method: "GET", path: tp + "/groups/{id}/roles", access: tenantRead},
	{method: "POST", path: tp + "/groups/{id}/roles", access: tenantAdmin, fresh: true,
		body: func(fx *fixture, _ int) any { return map[string]string{"role": fx.az.privRole.Name} }},
	{method: "DELETE", path: tp + "/groups/{id}/roles/{role}", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/authz/check", access: tenantQuery,
		body: func(fx *fixture, _ int) any {
			return map[string]string{"user_id": fx.member.ID, "permission": "docs:read"}
		}},
	{method: "POST", path: tp + "/authz/check/batch", access: tenantQuery,
		body: func(fx *fixture, _ int) any {
			return map[string]any{"checks": []map[string]string{{"user_id": fx.member.ID, "permission": "docs:read"}}}
		}},
	{method: "GET", path: tp + "/elevations", access: tenantRead},
	{method: "GET", path: tp + "/elevations/{id}", access: tenantRead},
	{method: "POST", path: tp + "/elevations/{id}/approve", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/elevations/{id}/deny", access: tenantAdmin, fresh: true},
	{method: "POST", path: tp + "/elevations/{id}/revoke", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/break-glass", access: tenantRead},
	{method: "POST", path: tp + "/break-glass", access: tenantAdmin, fresh: true,
		body: func(fx *fixture, _ int) any { return map[string]string{"user_id": fx.member.ID} }},
	{method: "DELETE", path: tp + "/break-glass/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/reviews", access: tenantRead},
	{method: "POST", path: tp + "/reviews", access: tenantAdmin,
		body: func(fx *fixture, n int) any {
			return map[string]any{"name": fmt.Sprintf("review-%d", n), "scope": "privileged",
				"reviewers": []string{fx.outsider.ID}, "deadline": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
		}},
	{method: "GET", path: tp + "/reviews/{id}", access: tenantRead},
	{method: "GET", path: tp + "/reviews/{id}/items", access: tenantRead},
	{method: "POST", path: tp + "/reviews/{id}/items/{item}/decision", access: tenantAdmin, fresh: true,
		body: func(fx *fixture, _ int) any {
			return map[string]string{"decision": "approve", "reviewer_id": fx.outsider.ID}
		}},
	{method: "GET", path: tp + "/reviews/{id}/report", access: tenantAudit},

	// Identity brokering; targets in social_fixture_test.go.
	{method: "GET", path: tp + "/connections", access: tenantRead},
	{method: "POST", path: tp + "/connections", access: tenantAdmin,
		body: func(_ *fixture, n int) any {
			return map[string]any{"type": "github", "name": fmt.Sprintf("gh-%d", n), "client_id": "id", "client_secret": "s"}
		}},
	{method: "GET", path: tp + "/connections/{id}", access: tenantRead},
	{method: "PATCH", path: tp + "/connections/{id}", access: tenantAdmin,
		body: func(fx *fixture, _ int) any { return map[string]string{"display_name": fx.social.conn.DisplayName} }},
	{method: "DELETE", path: tp + "/connections/{id}", access: tenantAdmin, fresh: true},
	{method: "GET", path: tp + "/users/{id}/identities", access: tenantRead},
	{method: "DELETE", path: tp + "/users/{id}/identities/{identity}", access: tenantAdmin, fresh: true},

	{method: "GET", path: "/api/v1/apikeys", access: platformOnly},
	{method: "POST", path: "/api/v1/apikeys", access: platformOnly,
		body: func(*fixture, int) any { return map[string]any{"scopes": []string{"read"}} }},
	{method: "PATCH", path: "/api/v1/apikeys/{id}", access: platformOnly, fresh: true,
		body: func(*fixture, int) any { return map[string]any{} }},
	{method: "DELETE", path: "/api/v1/apikeys/{id}", access: platformOnly, fresh: true},
	{method: "GET", path: "/api/v1/audit", access: platformOnly},
	{method: "GET", path: "/api/v1/audit/verify", access: platformOnly},

	{method: "GET", path: "/api/v1/config.schema.json", access: public},
	{method: "POST", path: "/api/v1/config/plan", access: platformOnly, body: configBody},
	{method: "POST", path: "/api/v1/config/apply", access: platformOnly, body: configBody},
}

// who is the kind of caller.
type who int

const (
	anonymous who = iota // no key, or one that does not authenticate
	platformAdmin
	platformRead
	platformAuditRead
	platformSCIM
	ownAdmin // keys of the route's tenant
	ownRead
	ownAuditRead
	ownSCIM
	otherAdmin // admin of another tenant
)

type caller struct {
	name string
	who  who
	auth string // Authorization header
}

const allowed = 0

// expected is the status class the matrix demands: allowed (any 2xx),
// 401, 403 or 404.
func expected(a access, w who, method string) int {
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case a == public:
		return allowed
	case w == anonymous:
		return http.StatusUnauthorized
	case a == platformOnly:
		if w == platformAdmin || (w == platformRead && read) {
			return allowed
		}
		return http.StatusForbidden
	case w == otherAdmin:
		// Tenant routes: other tenants do not exist from where it stands.
		return http.StatusNotFound
	case a == platformTenant:
		if w == platformAdmin {
			return allowed
		}
		return http.StatusForbidden
	case w == platformAdmin || w == ownAdmin:
		return allowed
	case a == tenantRead && read && (w == platformRead || w == ownRead):
		return allowed
	case a == tenantAudit && read && (w == platformAuditRead || w == ownAuditRead):
		return allowed
	case a == tenantQuery && (w == platformRead || w == ownRead):
		return allowed
	}
	return http.StatusForbidden
}

// problemKeys are the only members a refusal may carry: no data.
var problemKeys = []string{"type", "title", "status", "detail", "instance", "request_id"}

func TestAuthzMatrix(t *testing.T) {
	forEachBackend(t, testAuthzMatrix)
}

func testAuthzMatrix(t *testing.T, be backend) {
	ta := newTestApp(t, be)
	ctx := context.Background()

	// Every operation of the document has a row, and every row is one.
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	res := ta.get("/api/v1/openapi.json", "")
	if res.status != http.StatusOK {
		t.Fatalf("openapi.json: %s", res)
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for path, item := range doc.Paths {
		for m := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, m) {
				continue
			}
			ops++
			if !slices.ContainsFunc(matrix, func(r matrixRow) bool {
				return r.method == strings.ToUpper(m) && r.path == path
			}) {
				t.Errorf("operation %s %s has no row in the authorization matrix", strings.ToUpper(m), path)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range matrix {
		k := r.method + " " + r.path
		if seen[k] {
			t.Errorf("matrix row %s twice", k)
		}
		seen[k] = true
		if _, ok := doc.Paths[r.path][strings.ToLower(r.method)]; !ok {
			t.Errorf("matrix row %s is not an operation of openapi.json", k)
		}
	}
	if len(matrix) != ops {
		t.Fatalf("matrix has %d rows, openapi.json %d operations", len(matrix), ops)
	}

	// Tenant a is the target; b is another tenant.
	a, b := ta.tenant("tenant-a"), ta.tenant("tenant-b")
	shared := ta.fixture(a, 0)
	ta.fixture(b, 1000)
	// A consent purpose of the target tenant only: every purpose is asked
	// at sign-in, which the fixture's other users must not meet.
	if _, err := ta.Consent.CreatePurpose(ctx, testActor, a.ID, consent.NewPurpose{Name: matrixPurpose, Version: "1",
		Title: map[string]string{"en": "Matrix"}}); err != nil {
		t.Fatal(err)
	}

	revokedID, revoked := ta.keyWithID(a.ID, tenancy.ScopeAdmin)
	if _, err := ta.Tenants.RevokeAPIKey(ctx, testActor, a.ID, revokedID); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour)
	ek, expired, err := ta.Tenants.CreateAPIKey(ctx, testActor, a.ID, tenancy.NewAPIKey{Scopes: []string{"admin"}, ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Tenants.ExpireAPIKey(ctx, testActor, a.ID, ek.ID, nil); err != nil {
		t.Fatal(err)
	}
	pRevokedID, pRevoked := ta.keyWithID(store.PlatformTenant, tenancy.ScopeAdmin)
	if _, err := ta.Tenants.RevokeAPIKey(ctx, testActor, store.PlatformTenant, pRevokedID); err != nil {
		t.Fatal(err)
	}
	unknown := make([]byte, 32)
	rand.Read(unknown)

	bearer := func(tok string) string { return "Bearer " + tok }
	pAdmin := ta.key(store.PlatformTenant, "admin")
	callers := []caller{
		{"no token", anonymous, ""},
		{"basic auth", anonymous, "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))},
		{"empty bearer", anonymous, "Bearer "},
		{"malformed token", anonymous, "Bearer not-a-token"},
		{"unknown token", anonymous, bearer(tenancy.TokenPrefix + base64.RawURLEncoding.EncodeToString(unknown))},
		{"revoked key", anonymous, bearer(revoked)},
		{"expired key", anonymous, bearer(expired)},
		{"revoked platform key", anonymous, bearer(pRevoked)},
		{"platform admin", platformAdmin, bearer(pAdmin)},
		{"platform read", platformRead, bearer(ta.key(store.PlatformTenant, "read"))},
		{"platform audit:read", platformAuditRead, bearer(ta.key(store.PlatformTenant, "audit:read"))},
		{"platform scim", platformSCIM, bearer(ta.key(store.PlatformTenant, "scim"))},
		{"tenant admin", ownAdmin, bearer(ta.key(a.ID, "admin"))},
		{"tenant read", ownRead, bearer(ta.key(a.ID, "read"))},
		{"tenant audit:read", ownAuditRead, bearer(ta.key(a.ID, "audit:read"))},
		{"tenant scim", ownSCIM, bearer(ta.key(a.ID, "scim"))},
		{"other tenant admin", otherAdmin, bearer(ta.key(b.ID, "admin"))},
	}

	n := 1
	for _, row := range matrix {
		methods := []string{row.method}
		if row.method == http.MethodGet {
			methods = append(methods, http.MethodHead) // a GET route answers HEAD alike
		}
		for _, method := range methods {
			var unauthBody []byte
			for ci, c := range callers {
				n++
				want := expected(row.access, c.who, method)
				fx := shared
				if row.fresh && want == allowed {
					tn := a
					if row.access == platformTenant {
						tn = ta.tenant(fmt.Sprintf("doomed-%d", n))
					}
					fx = ta.fixture(tn, n)
					if row.deleted {
						if err := ta.Tenants.DeleteTenant(context.Background(), testActor, tn.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
				ref := fx.tenant.Slug
				if c.who != anonymous && ci%2 == 1 {
					ref = string(fx.tenant.ID) // by id as well as by slug
				}
				rq := request{method: method, path: fx.path(row.path, ref), auth: c.auth,
					header: map[string]string{"X-Request-Id": "authz-matrix"}}
				if row.body != nil {
					rq.body = row.body(fx, n)
				}
				res := ta.do(rq)
				desc := fmt.Sprintf("%s %s as %s", method, rq.path, c.name)
				checkOutcome(t, desc, want, method, res)
				if want == http.StatusUnauthorized && method != http.MethodHead {
					// Same answer for every way of not being authenticated.
					if unauthBody == nil {
						unauthBody = res.body
					} else if string(res.body) != string(unauthBody) {
						t.Errorf("%s: 401 body %s differs from %s", desc, res.body, unauthBody)
					}
				}
			}
		}
	}

	// Refused requests changed nothing.
	if _, err := ta.Tenants.Resolve(ctx, a.Slug); err != nil {
		t.Errorf("tenant a after the matrix: %v", err)
	}
	if _, err := ta.Directory.GetUser(ctx, a.ID, shared.member.ID); err != nil {
		t.Errorf("shared user after the matrix: %v", err)
	}
	if _, err := ta.Directory.GetGroup(ctx, a.ID, shared.group.ID); err != nil {
		t.Errorf("shared group after the matrix: %v", err)
	}
	ms, err := ta.Directory.ListMembers(ctx, a.ID, shared.group.ID, store.Page{})
	if err != nil || len(ms) != 1 || ms[0].ID != shared.member.ID {
		t.Errorf("shared group members after the matrix: %v, %v", ms, err)
	}
	// (Allowed PATCHes of the shared client keep its name; rotations and
	// deletions that are allowed get clients of their own.)
	if cl, err := ta.Clients.GetClient(ctx, a.ID, shared.client.ID); err != nil ||
		cl.Name != shared.client.Name || len(cl.SecretHash) == 0 || !bytes.Equal(cl.SecretHash, shared.client.SecretHash) {
		t.Errorf("shared client after the matrix: %+v, %v", cl, err)
	}
	for _, k := range []struct {
		tenant store.TenantID
		id     string
	}{{a.ID, shared.tenantKey}, {store.PlatformTenant, shared.platformKey}} {
		ks, err := ta.Tenants.ListAPIKeys(ctx, k.tenant)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ks, func(x store.APIKey) bool { return x.ID == k.id })
		if i < 0 || ks[i].RevokedAt != nil || ks[i].ExpiresAt != nil {
			t.Errorf("shared key %s after the matrix: %+v", k.id, ks)
		}
	}
	// And the audit chains of everything that was allowed are intact.
	for _, ref := range []string{a.Slug, b.Slug} {
		var v struct{ Intact bool }
		res := ta.get("/api/v1/tenants/"+ref+"/audit/verify", pAdmin)
		if err := json.Unmarshal(res.body, &v); err != nil || !v.Intact {
			t.Errorf("audit chain of %s: %s", ref, res)
		}
	}
}
