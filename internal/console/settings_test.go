package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestSettingsPage: the self-service and MFA policy and the default
// language change through the tenant's rules (a bad value is refused
// beside its field, nothing stored), settings the form does not show are
// kept, the sign-up page opens once sign-up is open, and a viewer cannot
// save.
func TestSettingsPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		viewer := e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
		b, csrf := signedIn(t, e, admin)
		settings := func() tenancy.Settings {
			set, err := tenancy.ParseSettings(e.tenant("default").Settings)
			if err != nil {
				t.Fatal(err)
			}
			return set
		}
		before := settings()

		p := b.post("/admin/settings", form("csrf", csrf, "signup", "sometimes", "mfa_policy", "optional", "default_locale", "en"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `<select id="signup" name="signup" aria-invalid="true">`) {
			t.Fatalf("bad sign-up value: %d\n%s", p.status, p.body)
		}
		if settings().SelfService.Signup != before.SelfService.Signup {
			t.Fatal("a refused change was stored")
		}
		p = b.post("/admin/settings", form("csrf", csrf, "signup", "open", "passwordless", "on", "mfa_policy", "required",
			"grace_days", "7", "remember_days", "30", "email_code", "on", "default_locale", "de"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", p.status, p.body)
		}
		got := settings()
		if got.SelfService.Signup != "open" || !got.SelfService.Passwordless || got.MFA.Policy != "required" || got.MFA.GraceDays != 7 ||
			got.MFA.RememberDays != 30 || !got.MFA.EmailCode || got.DefaultLocale != "de" || got.PasswordPolicy.MinLength != before.PasswordPolicy.MinLength {
			t.Fatalf("stored settings %+v", got)
		}
		if p := e.browser().get("/t/default/signup"); p.status != http.StatusOK {
			t.Fatalf("sign-up page after opening sign-up: %d", p.status)
		}
		vb, vcsrf := signedIn(t, e, viewer)
		if p := vb.get("/admin/settings"); p.status != http.StatusOK || strings.Contains(p.body, `id="save-settings"`) {
			t.Fatalf("viewer settings page: %d", p.status)
		}
		if p := vb.post("/admin/settings", form("csrf", vcsrf, "signup", "closed", "mfa_policy", "off")); p.status != http.StatusForbidden {
			t.Fatalf("viewer save: %d", p.status)
		}
	})
}
