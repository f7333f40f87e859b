package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// The branding page: the tenant's display name, logo, primary colour and
// support address, changed through tenancy.UpdateTenant (the rules and
// the audit of PATCH /api/v1/tenants/{tenant}); and the tenant's real
// login page in each language, to open beside the form and reload after
// a change. The console's own pages never frame another page (frame-src
// is 'none' and the login page refuses framing), so the preview is the
// page itself.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/branding", Perm: authz.PermConfig, Nav: "console2.nav.branding", Order: 80, Handle: c.brandingForm},
			{Method: "POST", Path: "/branding", Perm: authz.PermAdmin, Handle: c.brandingSave},
		}
	})
}

var brandingTmpl = parse("branding.html")

// previewLink is the login page in one language.
type previewLink struct {
	Lang, Name, URL string
}

type brandingData struct {
	Form     branding.Branding
	Previews []previewLink
	CanEdit  bool
}

// languageNames are the languages' own names.
var languageNames = map[string]string{"en": "English", "de": "Deutsch", "es": "Español"}

func (c *Console) brandingData(rq *Request, b branding.Branding) brandingData {
	d := brandingData{Form: b, CanEdit: rq.Can(authz.PermAdmin)}
	for _, l := range i18n.Languages() {
		name := languageNames[l]
		if name == "" {
			name = l
		}
		d.Previews = append(d.Previews, previewLink{Lang: l, Name: name,
			URL: "/t/" + rq.Tenant.Slug + "/account/login?ui_locales=" + l})
	}
	return d
}

// brandingForm: GET /branding.
func (c *Console) brandingForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	set, err := tenancy.ParseSettings(rq.Tenant.Settings)
	if err != nil {
		set = tenancy.DefaultSettings()
	}
	return rq.Render(w, http.StatusOK, brandingTmpl, "console2.branding.title", c.brandingData(rq, set.Branding))
}

// brandingSave: POST /branding replaces the tenant's branding.
func (c *Console) brandingSave(w http.ResponseWriter, r *http.Request, rq *Request) error {
	f := r.PostForm
	b := branding.Branding{DisplayName: strings.TrimSpace(f.Get("display_name")), LogoURL: strings.TrimSpace(f.Get("logo_url")),
		PrimaryColor: strings.TrimSpace(f.Get("primary_color")), SupportEmail: strings.TrimSpace(f.Get("support_email"))}
	raw, err := json.Marshal(map[string]any{"branding": b})
	if err != nil {
		return err
	}
	if _, err := c.Tenants.UpdateTenant(rq.Context(), rq.Actor, rq.Tenant.ID, 0, tenancy.TenantPatch{Settings: raw}); err != nil {
		if errs, ok := FieldErrors(err); ok {
			// The API names fields settings.branding.<field>: show them
			// beside this form's fields.
			v := map[string]string{}
			for k, msg := range errs {
				v[strings.TrimPrefix(k, "settings.branding.")] = msg
			}
			return rq.renderErrors(w, http.StatusBadRequest, brandingTmpl, "console2.branding.title", c.brandingData(rq, b), v)
		}
		return err
	}
	return rq.Redirect(w, "/branding", "console2.branding.saved")
}

// renderErrors is RenderForm with errors already mapped to this form's
// field names.
func (rq *Request) renderErrors(w http.ResponseWriter, status int, tmpl *Template, titleKey string, data any, errs map[string]string) error {
	v := rq.view(titleKey, data)
	v.Errors = errs
	v.Error = rq.T("console.error.form")
	rq.c.render(w, status, tmpl, rq.Lang, v)
	return nil
}
