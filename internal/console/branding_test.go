package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBrandingPage: a change of branding shows on the tenant's login page
// in every language linked as a preview, a colour that is not #rrggbb is
// refused beside its field with nothing changed, the change is audited
// with the console user as actor, and a viewer cannot save.
func TestBrandingPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		viewer := e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
		b, csrf := signedIn(t, e, admin)

		p := b.post("/admin/branding", form("csrf", csrf, "display_name", "Acme Travel", "primary_color", "yellow"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="primary_color"`) || !strings.Contains(p.body, `aria-invalid="true"`) {
			t.Fatalf("bad colour: %d\n%s", p.status, p.body)
		}
		if login := b.get("/t/default/account/login"); strings.Contains(login.body, "Acme Travel") {
			t.Fatal("a refused branding was stored")
		}
		p = b.post("/admin/branding", form("csrf", csrf, "display_name", "Acme Travel", "primary_color", "#0b6e4f",
			"support_email", "help@acme.example"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", p.status, p.body)
		}
		p = b.get("/admin/branding")
		for _, lang := range []string{"en", "de", "es"} {
			if !strings.Contains(p.body, `href="/t/default/account/login?ui_locales=`+lang+`"`) {
				t.Fatalf("no %s preview link", lang)
			}
			login := e.browser().get("/t/default/account/login?ui_locales=" + lang)
			if login.status != http.StatusOK || !strings.Contains(login.body, "Acme Travel") || !strings.Contains(login.body, "help@acme.example") {
				t.Fatalf("%s login page lacks the branding: %d", lang, login.status)
			}
		}
		// Tenant changes are audited in the platform's chain, as the API's.
		es, err := e.DB.Audit().ListAudit(context.Background(), store.PlatformTenant, store.AuditQuery{ActorID: admin.ID, Limit: 5})
		if err != nil || len(es) != 1 || es[0].Action != "tenant.update" || es[0].TargetID != string(e.tenant("default").ID) {
			t.Fatalf("audit: %+v %v", es, err)
		}
		vb, vcsrf := signedIn(t, e, viewer)
		if p := vb.get("/admin/branding"); p.status != http.StatusOK || strings.Contains(p.body, `id="save-branding"`) {
			t.Fatalf("viewer branding page: %d", p.status)
		}
		if p := vb.post("/admin/branding", form("csrf", vcsrf, "display_name", "Evil")); p.status != http.StatusForbidden {
			t.Fatalf("viewer save: %d", p.status)
		}
	})
}
