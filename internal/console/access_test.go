package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var locationIDRE = regexp.MustCompile(`[0-9a-f-]{36}$`)

// TestConsoleGroupsAndRoles: groups nest (a cycle is refused inline), a
// role made in the console with a bad permission is refused beside the
// field, a good one is assigned to a group and its member holds it; the
// built-in roles are listed and cannot be changed or deleted.
func TestConsoleGroupsAndRoles(t *testing.T) {
	e := newEnv(t, "")
	admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
	member := e.user("default", "member@example.com", "correct horse battery")
	b, csrf := signedIn(t, e, admin)
	ctx := context.Background()

	mkGroup := func(name string) string {
		t.Helper()
		p := b.post("/admin/groups", form("csrf", csrf, "name", name))
		if p.status != http.StatusSeeOther {
			t.Fatalf("create group %s: %d\n%s", name, p.status, p.body)
		}
		return locationIDRE.FindString(p.location())
	}
	outer, inner := mkGroup("Engineering"), mkGroup("Backend")
	if p := b.post("/admin/groups", form("csrf", csrf, "name", "")); p.status != http.StatusBadRequest || !strings.Contains(p.body, "name-error") {
		t.Errorf("group without a name: %d", p.status)
	}
	if p := b.post("/admin/groups/"+outer+"/members", form("csrf", csrf, "group", inner)); p.status != http.StatusSeeOther {
		t.Fatalf("nest: %d\n%s", p.status, p.body)
	}
	if p := b.post("/admin/groups/"+inner+"/members", form("csrf", csrf, "group", outer)); p.status != http.StatusBadRequest || !strings.Contains(p.body, "cannot contain itself") {
		t.Errorf("cycle: %d\n%s", p.status, p.body)
	}
	if p := b.post("/admin/groups/"+inner+"/members", form("csrf", csrf, "email", member.Email)); p.status != http.StatusSeeOther {
		t.Fatalf("add member: %d\n%s", p.status, p.body)
	}

	p := b.post("/admin/roles", form("csrf", csrf, "name", "Invoice approver", "permissions", "invoices:approve\nbad permission!"))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "permissions-error") {
		t.Fatalf("bad permission: %d\n%s", p.status, p.body)
	}
	if p = b.post("/admin/roles", form("csrf", csrf, "name", "gatehouse.mine", "permissions", "x:y")); p.status != http.StatusBadRequest || !strings.Contains(p.body, "reserved") {
		t.Errorf("reserved name: %d\n%s", p.status, p.body)
	}
	p = b.post("/admin/roles", form("csrf", csrf, "name", "Invoice approver", "permissions", "invoices:approve, invoices:read"))
	if p.status != http.StatusSeeOther {
		t.Fatalf("create role: %d\n%s", p.status, p.body)
	}
	if p = b.post("/admin/groups/"+outer+"/roles", form("csrf", csrf, "role", "Invoice approver")); p.status != http.StatusSeeOther {
		t.Fatalf("assign to group: %d\n%s", p.status, p.body)
	}
	perms, _ := e.Authz.Permissions(ctx, member.Tenant, member.ID)
	if !perms["invoices:approve"] {
		t.Errorf("the nested member holds %v", perms)
	}

	p = b.get("/admin/roles")
	for _, name := range []string{authz.RolePlatformAdmin, authz.RoleAdmin, authz.RoleHelpdesk, authz.RoleViewer, "Invoice approver"} {
		if !strings.Contains(p.body, name) {
			t.Errorf("roles page lacks %s", name)
		}
	}
	builtin, err := e.DB.Authz().Roles().GetRoleByName(ctx, admin.Tenant, authz.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if p = b.get("/admin/roles/" + builtin.ID); strings.Contains(p.body, `action="/admin/roles/`+builtin.ID+`/delete"`) {
		t.Errorf("a built-in role offers deletion")
	}
	for _, path := range []string{"", "/delete"} {
		if p = b.post("/admin/roles/"+builtin.ID+path, form("csrf", csrf, "permissions", "everything:*")); p.status != http.StatusConflict {
			t.Errorf("change built-in role %q: %d", path, p.status)
		}
	}
	if r, _ := e.DB.Authz().Roles().GetRole(ctx, admin.Tenant, builtin.ID); strings.Join(r.Permissions, ",") != authz.PermConfig+","+authz.PermRead {
		t.Errorf("built-in role now %v", r.Permissions)
	}
	// Only a platform administrator makes another.
	if p = b.post("/admin/users/"+member.ID+"/roles", form("csrf", csrf, "role", authz.RolePlatformAdmin)); p.status != http.StatusForbidden {
		t.Errorf("tenant admin grants platform admin: %d", p.status)
	}
}

// TestConsoleReviewsAndElevations: a campaign made in the console lists
// the privileged assignments; the reviewer revokes one and the report
// shows the decision; a pending elevation is approved by its approver
// and refused to an administrator who is not one.
func TestConsoleReviewsAndElevations(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
	approver := e.user("default", "approver@example.com", "correct horse battery", authz.RoleAdmin)
	dev := e.user("default", "dev@example.com", "correct horse battery")
	tid := admin.Tenant
	role, err := e.Authz.CreateRole(ctx, testActor, tid, authz.NewRole{Name: "Prod access", Permissions: []string{"prod:*"},
		Privileged: true, Approval: store.ApprovalApprovers, Approvers: []string{approver.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Authz.AssignUser(ctx, testActor, tid, dev.ID, role.ID); err != nil {
		t.Fatal(err)
	}
	devSess, _, err := e.Sessions.Create(ctx, tid, dev.ID, []string{"pwd", "otp", "mfa"}, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	el, err := e.Authz.RequestElevation(ctx, testActor, tid, dev.ID, authz.ElevationRequest{Role: role.ID, Reason: "incident 42", Duration: "1h"}, devSess)
	if err != nil {
		t.Fatal(err)
	}

	b, csrf := signedIn(t, e, admin)
	if p := b.get("/admin/elevations"); !strings.Contains(p.body, "incident 42") || !strings.Contains(p.body, "dev@example.com") {
		t.Fatalf("pending list: %d\n%s", p.status, p.body)
	}
	if p := b.post("/admin/elevations/"+el.ID+"/decide", form("csrf", csrf, "decision", "approve")); p.status != http.StatusConflict || !strings.Contains(p.body, "not an approver") {
		t.Errorf("admin who is not an approver: %d\n%s", p.status, p.body)
	}
	ab, acsrf := signedIn(t, e, approver)
	if p := ab.post("/admin/elevations/"+el.ID+"/decide", form("csrf", acsrf, "decision", "approve")); p.status != http.StatusSeeOther {
		t.Fatalf("approver approves: %d\n%s", p.status, p.body)
	}
	if got, _ := e.Authz.GetElevation(ctx, tid, el.ID); got.Status != store.ElevationApproved || got.DecidedBy != approver.ID {
		t.Errorf("elevation after approval: %+v", got)
	}

	deadline := e.clock.now().Add(7 * 24 * time.Hour).Format("2006-01-02")
	p := b.post("/admin/reviews", form("csrf", csrf, "name", "Q4 prod", "scope", "privileged", "reviewers", "nobody@example.com", "deadline", deadline))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "reviewers-error") {
		t.Fatalf("unknown reviewer: %d\n%s", p.status, p.body)
	}
	p = b.post("/admin/reviews", form("csrf", csrf, "name", "Q4 prod", "scope", "privileged", "reviewers", admin.Email, "deadline", deadline))
	if p.status != http.StatusSeeOther {
		t.Fatalf("create campaign: %d\n%s", p.status, p.body)
	}
	camp := locationIDRE.FindString(p.location())
	items, err := e.Authz.ListItems(ctx, tid, camp, store.Page{Limit: 10})
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v %v", items, err)
	}
	if p = b.get("/admin/reviews/" + camp); !strings.Contains(p.body, "dev@example.com") {
		t.Fatalf("campaign page: %d\n%s", p.status, p.body)
	}
	p = b.post("/admin/reviews/"+camp+"/items/"+items[0].ID+"/decision", form("csrf", csrf, "decision", "revoke", "note", "left the team"))
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", p.status, p.body)
	}
	if as, _ := e.Authz.ListAssignments(ctx, tid, store.AssignmentQuery{UserID: dev.ID}); len(as) != 0 {
		t.Errorf("the revoked assignment remains: %v", as)
	}
	p = b.get("/admin/reviews/" + camp + "/report.csv")
	if p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.body, "left the team") {
		t.Errorf("report: %d %s\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
}
