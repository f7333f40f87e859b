package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestConsoleTenants: a new tenant has the built-in roles from its
// creation; its administrators sign in at /t/{tenant}/admin through that
// tenant's own login and manage it, but not the admin tenant; a platform
// administrator manages every tenant (with the switcher), a tenant
// administrator of the admin tenant only their own.
func TestConsoleTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		ctx := context.Background()
		acme, err := e.Tenants.CreateTenant(ctx, testActor, tenancy.NewTenant{Slug: "acme", Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{authz.RolePlatformAdmin, authz.RoleAdmin, authz.RoleHelpdesk, authz.RoleViewer} {
			if _, err := e.DB.Authz().Roles().GetRoleByName(ctx, acme.ID, name); err != nil {
				t.Errorf("new tenant lacks %s: %v", name, err)
			}
		}
		e.user("acme", "boss@acme.example", "correct horse battery", authz.RoleAdmin)
		e.user("acme", "carol@acme.example", "correct horse battery")

		b := e.browser()
		p := b.signIn("acme", "boss@acme.example", "correct horse battery", "/t/acme/admin/users")
		if p.status != http.StatusOK || !strings.Contains(p.body, "carol@acme.example") || !strings.HasSuffix(p.url, "/t/acme/admin/users") {
			t.Fatalf("acme admin's console: %d %s\n%s", p.status, p.url, p.body)
		}
		if strings.Contains(p.body, `id="tenant-switch"`) {
			t.Errorf("a tenant administrator sees the tenant switcher")
		}
		if p = b.follow("/admin/users"); p.status != http.StatusForbidden || !strings.Contains(p.body, "another tenant") {
			t.Errorf("acme admin at /admin: %d\n%s", p.status, p.body)
		}

		root := e.user("default", "root@example.com", "correct horse battery", authz.RolePlatformAdmin)
		rb, _ := signedIn(t, e, root)
		if p = rb.get("/t/acme/admin/users"); p.status != http.StatusOK || !strings.Contains(p.body, "carol@acme.example") {
			t.Fatalf("platform admin in acme: %d\n%s", p.status, p.body)
		}
		if p = rb.get("/admin/users"); !strings.Contains(p.body, `id="tenant-switch"`) || !strings.Contains(p.body, `value="acme"`) {
			t.Errorf("platform admin has no switcher:\n%s", p.body)
		}
		if p = rb.get("/admin/switch?tenant=acme"); p.status != http.StatusSeeOther || p.location() != "/t/acme/admin/" {
			t.Errorf("switch: %d %s", p.status, p.location())
		}

		local := e.user("default", "local@example.com", "correct horse battery", authz.RoleAdmin)
		lb, _ := signedIn(t, e, local)
		if p = lb.get("/t/acme/admin/users"); p.status != http.StatusForbidden {
			t.Errorf("default-tenant admin in acme: %d", p.status)
		}
		if p = lb.get("/t/nosuch/admin/users"); p.status != http.StatusNotFound {
			t.Errorf("unknown tenant: %d", p.status)
		}
	})
}
