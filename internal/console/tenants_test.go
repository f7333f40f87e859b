package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
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

// TestConsoleClientRegistration: concurrent first sign-ins agree on one
// console client per tenant; a new public URL's redirect URI is added to
// it, the old one kept.
func TestConsoleClientRegistration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		ctx := context.Background()
		tn, err := e.Tenants.CreateTenant(ctx, testActor, tenancy.NewTenant{Slug: "race", Name: "Race"})
		if err != nil {
			t.Fatal(err)
		}
		const first = "https://id.example/t/race/admin/callback"
		ids := make(chan string, 6)
		for i := 0; i < cap(ids); i++ {
			go func() {
				id, err := e.Setup.ConsoleClient(ctx, tn.ID, first)
				if err != nil {
					t.Error(err)
				}
				ids <- id
			}()
		}
		want := <-ids
		for i := 1; i < cap(ids); i++ {
			if got := <-ids; got != want {
				t.Errorf("console client %s, another caller got %s", got, want)
			}
		}
		cs, _ := e.Clients.ListClients(ctx, tn.ID, store.Page{Limit: 100})
		if len(cs) != 1 || cs[0].ID != want || !cs[0].Public || cs[0].ThirdParty {
			t.Fatalf("clients after concurrent registration: %+v", cs)
		}
		const moved = "https://login.example/t/race/admin/callback"
		if id, err := e.Setup.ConsoleClient(ctx, tn.ID, moved); err != nil || id != want {
			t.Fatalf("after a new public URL: %s %v", id, err)
		}
		cl, _ := e.Clients.GetClient(ctx, tn.ID, want)
		if strings.Join(cl.RedirectURIs, " ") != first+" "+moved {
			t.Errorf("redirect URIs %v", cl.RedirectURIs)
		}
		// Deleted through the API: the next sign-in registers a new one.
		if err := e.Clients.DeleteClient(ctx, testActor, tn.ID, want); err != nil {
			t.Fatal(err)
		}
		again, err := e.Setup.ConsoleClient(ctx, tn.ID, moved)
		if err != nil || again == want || again == "" {
			t.Fatalf("after deletion: %q %v", again, err)
		}
	})
}
