package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestAuthzAPIBadInput: hostile or malformed input to the authorization
// endpoints gets a clear 4xx naming the problem and changes nothing: no
// role, assignment, elevation, mark, campaign or decision appears, and the
// audit chain does not grow.
func TestAuthzAPIBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, a, fx, admin, tp := authzAPISetup(t, be)
		ctx := context.Background()
		long := strings.Repeat("x", 2000)
		auditBefore := auditCount(t, ta, a.ID)
		rolesBefore, _ := ta.Authz.ListRoles(ctx, a.ID, "", store.Page{})

		for _, c := range []struct {
			rq     request
			status int
			field  string // the problem's field, or its type for refusals
		}{
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": ""}}, 400, "name"},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": "r", "permissions": []string{"has space"}}}, 400, "permissions"},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": "r", "privileged": true, "max_duration": "-1h", "approvers": []string{fx.outsider.ID}}}, 400, "max_duration"},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": "r", "privileged": true, "approval": "whoever"}}, 400, "approval"},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": long}}, 400, "name"},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": "r", "owner": "me"}}, 400, ""},
			{request{method: "POST", path: tp + "/roles", body: map[string]any{"name": fx.az.role.Name}}, 409, "name"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/roles", body: map[string]any{"role": "no-such-role"}}, 400, "role"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/roles", body: map[string]any{"role": long}}, 400, "role"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/roles", body: map[string]any{"role": fx.az.privRole.ID}}, 409, "role"},
			{request{method: "POST", path: tp + "/users/not-an-id/roles", body: map[string]any{"role": fx.az.role.ID}}, 404, ""},
			{request{method: "POST", path: tp + "/authz/check", body: map[string]any{"user_id": "'; DROP TABLE roles; --", "permission": "a"}}, 400, "user_id"},
			{request{method: "POST", path: tp + "/authz/check", body: map[string]any{"user_id": fx.member.ID, "permission": long}}, 400, "permission"},
			{request{method: "POST", path: tp + "/authz/check/batch", body: map[string]any{"checks": make([]map[string]string, 101)}}, 400, "checks"},
			{request{method: "POST", path: tp + "/authz/check/batch", body: map[string]any{"checks": []map[string]string{}}}, 400, "checks"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/elevations", body: map[string]any{"role": fx.az.privRole.ID, "reason": "x", "duration": "100h"}}, 400, "duration"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/elevations", body: map[string]any{"role": fx.az.privRole.ID, "reason": "", "duration": "1h"}}, 400, "reason"},
			{request{method: "POST", path: tp + "/users/" + fx.member.ID + "/elevations", body: map[string]any{"role": fx.az.role.ID, "reason": "x", "duration": "1h"}}, 403, "not_privileged"},
			{request{method: "POST", path: tp + "/users/" + fx.outsider.ID + "/elevations", body: map[string]any{"role": fx.az.privRole.ID, "reason": "x", "duration": "1h"}}, 403, "not_eligible"},
			// The approver is the caller, never a name in the body.
			{request{method: "POST", path: tp + "/elevations/" + fx.az.elevation.ID + "/approve", body: map[string]any{"approver_id": fx.outsider.ID}}, 400, "approver_id"},
			{request{method: "POST", path: tp + "/elevations/" + fx.az.elevation.ID + "/deny", body: map[string]any{"approver_id": fx.outsider.ID}}, 400, "approver_id"},
			{request{method: "POST", path: tp + "/break-glass", body: map[string]any{"user_id": fx.outsider.ID}}, 409, "user_id"},
			{request{method: "POST", path: tp + "/break-glass", body: map[string]any{"user_id": "nope"}}, 400, "user_id"},
			{request{method: "POST", path: tp + "/reviews", body: map[string]any{"name": "r", "scope": "everything", "reviewers": []string{fx.outsider.ID}, "deadline": "2099-01-01T00:00:00Z"}}, 400, "scope"},
			{request{method: "POST", path: tp + "/reviews", body: map[string]any{"name": "r", "scope": "privileged", "reviewers": []string{fx.outsider.ID}, "deadline": "2000-01-01T00:00:00Z"}}, 400, "deadline"},
			{request{method: "POST", path: tp + "/reviews", body: map[string]any{"name": "r", "scope": "application", "reviewers": []string{fx.outsider.ID}, "deadline": "2099-01-01T00:00:00Z"}}, 400, "application"},
			{request{method: "POST", path: tp + "/reviews/" + fx.az.campaign.ID + "/items/" + fx.az.item.ID + "/decision", body: map[string]any{"decision": "maybe", "reviewer_id": fx.outsider.ID}}, 400, "decision"},
			{request{method: "POST", path: tp + "/reviews/" + fx.az.campaign.ID + "/items/" + fx.az.item.ID + "/decision", body: map[string]any{"decision": "revoke", "reviewer_id": fx.member.ID}}, 403, "not_reviewer"},
			{request{method: "GET", path: tp + "/reviews/" + fx.az.campaign.ID + "/report?format=xlsx"}, 400, "format"},
			{request{method: "GET", path: tp + "/elevations?status=active"}, 400, "status"},
			{request{method: "PATCH", path: tp + "/clients/" + fx.client.ID, body: map[string]any{"authz_claims": map[string]any{"roles_claim": "email"}}}, 400, "authz_claims.roles_claim"},
			{request{method: "PATCH", path: tp + "/clients/" + fx.client.ID, body: map[string]any{"authz_claims": map[string]any{"roles_claim": "r", "permissions_claim": "r"}}}, 400, "authz_claims.permissions_claim"},
		} {
			c.rq.auth = admin
			res := ta.do(c.rq)
			desc := c.rq.method + " " + c.rq.path
			if res.status != c.status {
				t.Errorf("%s %v: %s, want %d", desc, c.rq.body, res, c.status)
				continue
			}
			p := res.problem(t)
			if c.field == "" {
				continue
			}
			if p["field"] != c.field && p["type"] != "urn:gatehouse:problem:"+c.field {
				t.Errorf("%s: problem %v, want field or type %s", desc, p, c.field)
			}
			if strings.Contains(string(res.body), "sql") || strings.Contains(string(res.body), "DROP") {
				t.Errorf("%s: the answer echoes internals or input: %s", desc, res.body)
			}
		}

		// Nothing changed.
		if n := auditCount(t, ta, a.ID); n != auditBefore {
			t.Errorf("audit entries %d -> %d after refused requests", auditBefore, n)
		}
		if rs, _ := ta.Authz.ListRoles(ctx, a.ID, "", store.Page{}); len(rs) != len(rolesBefore) {
			t.Errorf("roles %d -> %d", len(rolesBefore), len(rs))
		}
		if el, err := ta.Authz.GetElevation(ctx, a.ID, fx.az.elevation.ID); err != nil || el.Status != store.ElevationPending {
			t.Errorf("elevation after refusals: %+v, %v", el, err)
		}
		if its, _ := ta.Authz.ListItems(ctx, a.ID, fx.az.campaign.ID, store.Page{}); its[0].Decision != "" {
			t.Errorf("review items after refusals: %+v", its)
		}
	})
}

// TestAuthzCrossTenant: another tenant's roles, elevations, campaigns and
// items are not found under this tenant's path, and cannot be assigned.
func TestAuthzCrossTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a, b := ta.tenant("tenant-a"), ta.tenant("tenant-b")
		fa, fb := ta.fixture(a, 1), ta.fixture(b, 2)
		pa := "/api/v1/tenants/" + a.Slug
		for _, rq := range []request{
			{method: "GET", path: pa + "/roles/" + fb.az.role.ID},
			{method: "PATCH", path: pa + "/roles/" + fb.az.role.ID, body: map[string]string{"description": "x"}},
			{method: "DELETE", path: pa + "/roles/" + fb.az.role.ID},
			{method: "GET", path: pa + "/roles/" + fb.az.role.ID + "/assignments"},
			{method: "GET", path: pa + "/elevations/" + fb.az.elevation.ID},
			{method: "POST", path: pa + "/elevations/" + fb.az.elevation.ID + "/approve"},
			{method: "POST", path: pa + "/elevations/" + fb.az.elevation.ID + "/revoke"},
			{method: "GET", path: pa + "/reviews/" + fb.az.campaign.ID},
			{method: "GET", path: pa + "/reviews/" + fb.az.campaign.ID + "/report"},
			{method: "POST", path: pa + "/reviews/" + fb.az.campaign.ID + "/items/" + fb.az.item.ID + "/decision",
				body: map[string]string{"decision": "revoke", "reviewer_id": fb.outsider.ID}},
			{method: "DELETE", path: pa + "/break-glass/" + fb.outsider.ID},
			{method: "DELETE", path: pa + "/users/" + fb.member.ID + "/roles/" + fb.az.privRole.ID},
			{method: "POST", path: pa + "/users/" + fb.member.ID + "/roles", body: map[string]string{"role": fa.az.role.ID}},
		} {
			rq.auth = "Bearer " + ta.key(store.PlatformTenant, "admin")
			if res := ta.do(rq); res.status != http.StatusNotFound {
				t.Errorf("%s %s: %s, want 404", rq.method, rq.path, res)
			}
		}
		// A's user given B's role (by id): the role is not A's.
		rq := request{method: "POST", path: pa + "/users/" + fa.outsider.ID + "/roles", auth: "Bearer " + ta.key(a.ID, "admin"),
			body: map[string]string{"role": fb.az.role.ID}}
		if res := ta.do(rq); res.status != http.StatusBadRequest {
			t.Errorf("B's role to A's user: %s, want 400", res)
		}
		// The check of B's user under A is a denial, not B's answer.
		rq = request{method: "POST", path: pa + "/authz/check", auth: "Bearer " + ta.key(a.ID, "read"),
			body: map[string]string{"user_id": fb.member.ID, "permission": "docs:read"}}
		if res := ta.do(rq); res.status != 200 || !strings.Contains(string(res.body), `"allowed":false`) {
			t.Errorf("B's user checked under A: %s", res)
		}
	})
}

func auditCount(t *testing.T, ta *testApp, tn store.TenantID) int {
	t.Helper()
	n := 0
	if err := ta.DB.Audit().ScanAudit(context.Background(), tn, func(store.AuditEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSelfActivationBySession: through the API, a self_mfa role activates
// only with session_id naming the user's own session whose login shows a
// second factor; the password-only session of the same user is refused.
func TestSelfActivationBySession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, a, fx, admin, tp := authzAPISetup(t, be)
		ctx := context.Background()
		res := ta.do(request{method: "POST", path: tp + "/roles", auth: admin, body: map[string]any{
			"name": "dba", "permissions": []string{"db:admin"}, "privileged": true, "approval": "self_mfa", "max_duration": "30m"}})
		if res.status != http.StatusCreated {
			t.Fatalf("create role: %s", res)
		}
		if res := ta.do(request{method: "POST", path: tp + "/users/" + fx.member.ID + "/roles", auth: admin,
			body: map[string]string{"role": "dba"}}); res.status != http.StatusCreated {
			t.Fatalf("assign: %s", res)
		}
		pwd, _, err := ta.Sessions.Create(ctx, a.ID, fx.member.ID, []string{"pwd"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		mfa, _, err := ta.Sessions.Create(ctx, a.ID, fx.member.ID, []string{"pwd", "otp", "mfa"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := ta.Sessions.Create(ctx, a.ID, fx.outsider.ID, []string{"pwd", "otp", "mfa"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		body := func(sid string) map[string]string {
			return map[string]string{"role": "dba", "reason": "migration", "duration": "30m", "session_id": sid}
		}
		for name, sid := range map[string]string{"password-only": pwd.ID, "another user's": other.ID, "none": ""} {
			res := ta.do(request{method: "POST", path: tp + "/users/" + fx.member.ID + "/elevations", auth: admin, body: body(sid)})
			if res.status != http.StatusForbidden || res.problem(t)["type"] != "urn:gatehouse:problem:step_up_required" {
				t.Errorf("%s session: %s", name, res)
			}
		}
		res = ta.do(request{method: "POST", path: tp + "/users/" + fx.member.ID + "/elevations", auth: admin, body: body(mfa.ID)})
		if res.status != http.StatusCreated || !strings.Contains(string(res.body), `"state":"active"`) {
			t.Fatalf("MFA session: %s", res)
		}
		res = ta.do(request{method: "POST", path: tp + "/authz/check", auth: admin,
			body: map[string]string{"user_id": fx.member.ID, "permission": "db:admin"}})
		if !strings.Contains(string(res.body), `"allowed":true`) {
			t.Errorf("after self-activation: %s", res)
		}
	})
}

// authzAPISetup opens an app with tenant-a and its fixture, and answers an
// admin key's Authorization header and the tenant's API path.
func authzAPISetup(t *testing.T, be backend) (ta *testApp, a *store.Tenant, fx *fixture, admin, tp string) {
	ta = newTestApp(t, be)
	a = ta.tenant("tenant-a")
	return ta, a, ta.fixture(a, 1), "Bearer " + ta.key(a.ID, "admin"), "/api/v1/tenants/" + a.Slug
}
