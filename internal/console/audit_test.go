package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// TestAuditViewer: the audit page lists the console's own changes with
// the console user as actor, filters by action, actor, target and time,
// refuses a bad time inline, checks the chain on request, and is closed
// to a user without the audit permission.
func TestAuditViewer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		helpdesk := e.user("default", "helpdesk@example.com", "correct horse battery", authz.RoleHelpdesk)
		b, csrf := signedIn(t, e, admin)
		p := b.post("/admin/apps", form("csrf", csrf, "kind", "m2m", "name", "Billing job"))
		id := clientIDRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || id == nil {
			t.Fatalf("create: %d", p.status)
		}

		p = b.get("/admin/audit?action=client.create")
		if p.status != http.StatusOK || !strings.Contains(p.body, `<code class="audit-action">client.create</code>`) ||
			!strings.Contains(p.body, "<code>"+admin.ID+"</code>") || !strings.Contains(p.body, id[1]) {
			t.Fatalf("audit filtered by action: %d\n%s", p.status, p.body)
		}
		if strings.Contains(p.body, `<code class="audit-action">user.create</code>`) {
			t.Fatal("the action filter let other actions through")
		}
		if p := b.get("/admin/audit?target=" + id[1] + "&actor=" + admin.ID); strings.Count(p.body, `class="audit-action"`) != 1 {
			t.Fatalf("by target and actor: %d entries", strings.Count(p.body, `class="audit-action"`))
		}
		if p := b.get("/admin/audit?actor=nobody"); !strings.Contains(p.body, "No entries match") {
			t.Fatal("an unknown actor matched entries")
		}
		if p := b.get("/admin/audit?since=2999-01-01T00:00"); !strings.Contains(p.body, "No entries match") {
			t.Fatal("entries from the future")
		}
		if p := b.get("/admin/audit?since=yesterday"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "2026-01-02T15:04") {
			t.Fatalf("bad time: %d", p.status)
		}
		p = b.get("/admin/audit/verify")
		if p.status != http.StatusOK || !strings.Contains(p.body, "The chain is intact") {
			t.Fatalf("verify: %d\n%s", p.status, p.body)
		}
		hb, _ := signedIn(t, e, helpdesk)
		if p := hb.get("/admin/audit"); p.status != http.StatusForbidden {
			t.Fatalf("helpdesk audit: %d", p.status)
		}
	})
}
