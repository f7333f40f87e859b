package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// The settings page: the tenant's self-service policy (sign-up, verified
// email, passwordless, the documents sign-up asks to accept, disposable
// domains), its MFA policy (policy, grace, remembered devices, email
// codes, user verification) and its default language, changed through
// tenancy.UpdateTenant (the rules and audit of PATCH
// /api/v1/tenants/{tenant}). The objects are sent whole, taken from the
// stored settings with the form's fields over them, so settings the form
// does not show are kept.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/settings", Perm: authz.PermConfig, Nav: "console2.nav.settings", Order: 95, Handle: c.settingsForm},
			{Method: "POST", Path: "/settings", Perm: authz.PermAdmin, Handle: c.settingsSave},
		}
	})
}

var settingsTmpl = parse("settings.html")

type settingsData struct {
	Set       tenancy.Settings
	Signups   []string
	Policies  []string
	Languages []string
	CanEdit   bool
}

func (rq *Request) settingsData(set tenancy.Settings) settingsData {
	return settingsData{Set: set, Signups: []string{"closed", "invite_only", "open"},
		Policies: []string{"off", "optional", "required", "passkeys_only"}, Languages: i18n.Languages(), CanEdit: rq.Can(authz.PermAdmin)}
}

func (c *Console) settingsForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	set, err := tenancy.ParseSettings(rq.Tenant.Settings)
	if err != nil {
		set = tenancy.DefaultSettings()
	}
	return rq.Render(w, http.StatusOK, settingsTmpl, "console2.settings.title", rq.settingsData(set))
}

// atoi reads a whole number field; what does not parse is -1, which the
// service's rules refuse with their own message.
func atoi(s string) int {
	if strings.TrimSpace(s) == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

func (c *Console) settingsSave(w http.ResponseWriter, r *http.Request, rq *Request) error {
	set, err := tenancy.ParseSettings(rq.Tenant.Settings)
	if err != nil {
		set = tenancy.DefaultSettings()
	}
	f := r.PostForm
	ss := &set.SelfService
	ss.Signup = f.Get("signup")
	ss.RequireVerifiedEmail = f.Get("require_verified_email") == "on"
	ss.Passwordless = f.Get("passwordless") == "on"
	ss.BlockDisposable = f.Get("block_disposable") == "on"
	ss.TermsURL, ss.TermsVersion = strings.TrimSpace(f.Get("terms_url")), strings.TrimSpace(f.Get("terms_version"))
	ss.PrivacyURL, ss.PrivacyVersion = strings.TrimSpace(f.Get("privacy_url")), strings.TrimSpace(f.Get("privacy_version"))
	m := &set.MFA
	m.Policy = f.Get("mfa_policy")
	m.GraceDays, m.RememberDays = atoi(f.Get("grace_days")), atoi(f.Get("remember_days"))
	m.EmailCode = f.Get("email_code") == "on"
	m.RequireUserVerification = f.Get("require_user_verification") == "on"
	set.DefaultLocale = f.Get("default_locale")
	raw, err := json.Marshal(map[string]any{"self_service": set.SelfService, "mfa": set.MFA, "default_locale": set.DefaultLocale})
	if err != nil {
		return err
	}
	if _, err := c.Tenants.UpdateTenant(rq.Context(), rq.Actor, rq.Tenant.ID, 0, tenancy.TenantPatch{Settings: raw}); err != nil {
		if errs, ok := FieldErrors(err); ok {
			v := map[string]string{}
			for k, msg := range errs {
				v[strings.TrimPrefix(k, "settings.")] = msg
			}
			return rq.renderErrors(w, http.StatusBadRequest, settingsTmpl, "console2.settings.title", rq.settingsData(set), v)
		}
		return err
	}
	return rq.Redirect(w, "/settings", "console2.settings.saved")
}
