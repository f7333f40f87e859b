package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestConsoleUsersCreateSearchEdit: an admin creates a user through the
// form (a bad email answers inline, nothing stored), finds it in the
// search, edits its profile and attributes, disables it; every change is
// audited with the console user as actor.
func TestConsoleUsersCreateSearchEdit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		b, csrf := signedIn(t, e, admin)

		p := b.post("/admin/users", form("csrf", csrf, "email", "not-an-email", "given_name", "Ada"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="email-error"`) || !strings.Contains(p.body, `value="Ada"`) {
			t.Fatalf("bad email: %d\n%s", p.status, p.body)
		}
		p = b.post("/admin/users", form("csrf", csrf, "email", "ada@example.com", "given_name", "Ada", "family_name", "Lovelace"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/users/") {
			t.Fatalf("create: %d %s\n%s", p.status, p.location(), p.body)
		}
		userPath := p.location()
		if p = b.get(userPath); p.status != http.StatusOK || !strings.Contains(p.body, "ada@example.com") || !strings.Contains(p.body, "The user was created") {
			t.Fatalf("user page: %d\n%s", p.status, p.body)
		}
		for _, q := range []string{"?q=lov", "?q=ADA", "?email=ada@example.com", "?status=active&q=ada"} {
			if p = b.get("/admin/users" + q); !strings.Contains(p.body, "ada@example.com") {
				t.Errorf("search %s does not find the user: %d", q, p.status)
			}
		}
		if p = b.get("/admin/users?q=zzz"); strings.Contains(p.body, "ada@example.com") {
			t.Errorf("search q=zzz finds the user")
		}
		if p = b.get("/admin/users?status=bogus"); p.status != http.StatusBadRequest {
			t.Errorf("status=bogus: %d", p.status)
		}

		u, err := e.Directory.UserForEmail(context.Background(), admin.Tenant, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		p = b.post(userPath, form("csrf", csrf, "version", "1", "email", "ada@example.com", "given_name", "Augusta",
			"attributes_json", `{"department": "math"}`))
		if p.status != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", p.status, p.body)
		}
		p = b.post(userPath, form("csrf", csrf, "email", "ada@example.com", "attributes_json", `[1,2]`))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "attributes_json-error") {
			t.Fatalf("bad attributes: %d\n%s", p.status, p.body)
		}
		p = b.post(userPath+"/status", form("csrf", csrf, "status", "disabled"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("disable: %d\n%s", p.status, p.body)
		}
		got, _ := e.Directory.GetUser(context.Background(), admin.Tenant, u.ID)
		if got.GivenName != "Augusta" || got.Status != store.UserDisabled || !strings.Contains(string(got.Attributes), `"math"`) {
			t.Fatalf("after edits: %+v %s", got, got.Attributes)
		}
		es, err := e.DB.Audit().ListAudit(context.Background(), admin.Tenant, store.AuditQuery{TargetID: u.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, en := range es {
			if en.ActorType == "system" {
				continue // notices the change sent the user
			}
			if en.ActorType != "user" || en.ActorID != admin.ID {
				t.Errorf("audit %s by %s %s, want the console user", en.Action, en.ActorType, en.ActorID)
			}
			actions[en.Action] = true
		}
		if !actions["user.create"] || !actions["user.update"] {
			t.Errorf("audited actions %v", actions)
		}
	})
}

// TestConsoleHelpdesk: a helpdesk user finds users and resets a user's
// second factors and sessions, but may not edit profiles or roles.
func TestConsoleHelpdesk(t *testing.T) {
	e := newEnv(t, "")
	hd := e.user("default", "helpdesk@example.com", "correct horse battery", authz.RoleHelpdesk)
	target := e.user("default", "bob@example.com", "correct horse battery")
	b, csrf := signedIn(t, e, hd)
	p := b.get("/admin/users/" + target.ID)
	if p.status != http.StatusOK || !strings.Contains(p.body, "/mfa-reset") || strings.Contains(p.body, "/edit") {
		t.Fatalf("helpdesk user page: %d\n%s", p.status, p.body)
	}
	if p = b.post("/admin/users/"+target.ID+"/mfa-reset", form("csrf", csrf)); p.status != http.StatusSeeOther {
		t.Fatalf("mfa reset: %d\n%s", p.status, p.body)
	}
	for _, path := range []string{"/edit"} {
		if p = b.get("/admin/users/" + target.ID + path); p.status != http.StatusForbidden {
			t.Errorf("helpdesk GET %s: %d", path, p.status)
		}
	}
	for _, path := range []string{"", "/status", "/roles", "/erase"} {
		if p = b.post("/admin/users/"+target.ID+path, form("csrf", csrf, "status", "disabled", "role", authz.RoleAdmin)); p.status != http.StatusForbidden {
			t.Errorf("helpdesk POST %s: %d", path, p.status)
		}
	}
	if p = b.post("/admin/users/"+target.ID+"/resend-verification", form("csrf", csrf)); p.status != http.StatusBadRequest {
		t.Errorf("verification mail to a verified address: %d", p.status)
	}
	// The friendly 403 page speaks the browser's language.
	b.lang = "de"
	if p = b.get("/admin/users/" + target.ID + "/edit"); p.status != http.StatusForbidden || !strings.Contains(p.body, "keine Berechtigung") {
		t.Errorf("German 403 page: %d\n%s", p.status, p.body)
	}
	b.lang = ""
	if p = b.post("/admin/users/"+target.ID+"/sessions/end", form("csrf", csrf)); p.status != http.StatusSeeOther {
		t.Fatalf("end sessions: %d\n%s", p.status, p.body)
	}
	es, _ := e.DB.Audit().ListAudit(context.Background(), target.Tenant, store.AuditQuery{TargetID: target.ID, ActorID: hd.ID, Limit: 10})
	got := map[string]bool{}
	for _, en := range es {
		got[en.Action] = true
	}
	if !got["user.sessions_end"] || len(got) < 2 {
		t.Errorf("helpdesk actions audited with the helpdesk user as actor: %v", got)
	}
}
