package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

var consentPage = ui.Parse(templateFS, "templates/consent.html")

// consentTexts are the consent screen's lines: which attributes a SAML
// service provider receives, then what each scope lets a client do.
func consentTexts(f ui.Frame, scopes, attributes []string) []string {
	out := make([]string, 0, len(scopes)+len(attributes))
	for _, a := range attributes {
		out = append(out, f.T("consent.attribute", "attribute", a))
	}
	return append(out, scopeTexts(f, scopes)...)
}

// scopeTexts says in words, in lang, what each scope lets the client do
// (catalog keys scope.{name}; scope.other for the rest).
func scopeTexts(f ui.Frame, scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if key := "scope." + sc; sc != "other" && i18n.Default().Has(key) {
			out = append(out, f.T(key))
		} else {
			out = append(out, f.T("scope.other", "scope", sc))
		}
	}
	return out
}

func (p *Pages) consentRequest(w http.ResponseWriter, r *http.Request, t *store.Tenant, id string) (*store.LoginRequest, bool) {
	sess := p.currentSession(r.Context(), r, t)
	ar, err := p.Flow.LoadForConsent(r.Context(), t.ID, id, sess)
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return nil, false
	}
	return ar, true
}

func (p *Pages) consentForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.consentRequest(w, r, t, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	name, scopes, attrs, err := p.Flow.ConsentAsks(r.Context(), t.ID, ar)
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	f := ui.FrameFor(r, t, ar.UILocales, "consent.title")
	allowFormRedirect(w, ar.ReturnURI)
	consentPage.Render(w, p.Log, http.StatusOK, f.Lang, struct {
		view
		Scopes  []string
		Details []detailView // consent_rar.go
	}{view{Frame: f, ClientName: name,
		Action: "/t/" + t.Slug + "/consent", CSRF: p.csrf(w, r), RequestID: ar.ID}, consentTexts(f, scopes, attrs),
		p.consentDetails(r.Context(), f, t, ar)})
}

func (p *Pages) consentSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !p.checkCSRF(r) {
		p.message(w, r, t, http.StatusForbidden, "error.title", "error.form_expired")
		return
	}
	ar, ok := p.consentRequest(w, r, t, r.PostFormValue("id"))
	if !ok {
		return
	}
	switch r.PostFormValue("decision") {
	case "approve":
		err := p.Flow.GrantConsent(r.Context(), t.ID, ar, p.currentSession(r.Context(), r, t))
		if err != nil && !p.finished(w, r, t, ar, "", err) {
			p.Log.ErrorContext(r.Context(), "web: consent", "err", err)
			p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
			return
		}
		if err == nil {
			p.returnTo(w, r, t, ar, http.StatusSeeOther)
		}
	case "deny":
		p.deny(w, r, t, ar, "access_denied", "the user denied access")
	default:
		p.message(w, r, t, http.StatusBadRequest, "error.title", "consent.choose")
	}
}
