package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestConnectionsPage: a Google connection from its preset needs a client
// id (refused inline without one, nothing stored); once made it is listed
// with the redirect URI to register, its secret sealed and never shown; a
// viewer lists but cannot create.
func TestConnectionsPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		viewer := e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
		b, csrf := signedIn(t, e, admin)
		tn := e.tenant("default")
		const secret = "google-client-secret-123"

		p := b.post("/admin/connections", form("csrf", csrf, "type", "google", "name", "google", "client_secret", secret))
		if p.status != http.StatusBadRequest || strings.Contains(p.body, secret) {
			t.Fatalf("no client id: %d", p.status)
		}
		if cs, _ := e.Connections.List(context.Background(), tn.ID, store.Page{Limit: 10}); len(cs) != 0 {
			t.Fatal("a refused connection was stored")
		}
		p = b.post("/admin/connections", form("csrf", csrf, "type", "google", "name", "google", "display_name", "Google",
			"client_id", "123.apps.googleusercontent.com", "client_secret", secret))
		if p.status != http.StatusSeeOther {
			t.Fatalf("create: %d\n%s", p.status, p.body)
		}
		p = b.get("/admin/connections")
		if !strings.Contains(p.body, e.url+"/t/default/connections/google/callback") || strings.Contains(p.body, secret) {
			t.Fatalf("list: no callback, or the secret shown\n%s", p.body)
		}
		c, err := e.Connections.ByName(context.Background(), tn.ID, "google")
		if err != nil || c.Type != "google" {
			t.Fatalf("stored: %+v %v", c, err)
		}
		if got, err := e.Connections.Secret(c); err != nil || got != secret {
			t.Fatalf("sealed secret opens to %q, %v", got, err)
		}
		vb, vcsrf := signedIn(t, e, viewer)
		if p := vb.get("/admin/connections"); p.status != http.StatusOK || strings.Contains(p.body, `id="create-connection"`) {
			t.Fatalf("viewer list: %d", p.status)
		}
		if p := vb.post("/admin/connections", form("csrf", vcsrf, "type", "github", "name", "gh", "client_id", "x", "client_secret", "y")); p.status != http.StatusForbidden {
			t.Fatalf("viewer create: %d", p.status)
		}
	})
}
