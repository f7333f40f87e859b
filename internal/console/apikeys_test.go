package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

var tokenRE = regexp.MustCompile(`id="api-token" type="text" readonly value="([^"]+)"`)

// TestAPIKeysPage: a key made in the console shows its token once, and
// the token authenticates with the scopes chosen; no scope is refused
// inline; revoking ends it; the page needs the admin permission.
func TestAPIKeysPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		helpdesk := e.user("default", "helpdesk@example.com", "correct horse battery", authz.RoleHelpdesk)
		b, csrf := signedIn(t, e, admin)
		ctx := context.Background()

		if p := b.post("/admin/apikeys", form("csrf", csrf, "name", "CI")); p.status != http.StatusBadRequest || tokenRE.MatchString(p.body) {
			t.Fatalf("no scopes: %d", p.status)
		}
		p := b.post("/admin/apikeys", form("csrf", csrf, "name", "CI", "scopes", "read", "scopes", "audit:read"))
		m := tokenRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || m == nil {
			t.Fatalf("create: %d\n%s", p.status, p.body)
		}
		k, err := e.Tenants.AuthenticateAPIKey(ctx, m[1])
		if err != nil || k.Tenant != admin.Tenant || strings.Join(k.Scopes, ",") != "read,audit:read" {
			t.Fatalf("the shown token: %+v %v", k, err)
		}
		p = b.get("/admin/apikeys")
		if strings.Contains(p.body, m[1]) || !strings.Contains(p.body, k.Hint) {
			t.Fatal("the list shows the token, or not its hint")
		}
		if p := b.post("/admin/apikeys/"+k.ID+"/revoke", form("csrf", csrf)); p.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", p.status)
		}
		if _, err := e.Tenants.AuthenticateAPIKey(ctx, m[1]); err == nil {
			t.Fatal("a revoked key still authenticates")
		}
		hb, _ := signedIn(t, e, helpdesk)
		if p := hb.get("/admin/apikeys"); p.status != http.StatusForbidden {
			t.Fatalf("helpdesk: %d", p.status)
		}
	})
}
