package web

import (
	"html/template"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var consentPage = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/consent.html"))

// scopeText says in words what a scope lets the client do.
var scopeText = map[string]string{
	"openid":         "Sign you in with your account",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"phone":          "See your phone number",
	"groups":         "See the groups you belong to",
	"offline_access": "Keep access while you are away",
}

func (p *Pages) consentRequest(w http.ResponseWriter, r *http.Request, t *store.Tenant, id string) (*store.AuthRequest, bool) {
	sess := p.currentSession(r.Context(), r, t)
	ar, err := p.Flow.LoadForConsent(r.Context(), t.ID, id, sess)
	if err != nil {
		p.message(w, t, http.StatusBadRequest, "Sign-in expired", "This request is unknown or has expired. Go back to the application and start again.")
		return nil, false
	}
	return ar, true
}

func (p *Pages) consentForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.consentRequest(w, r, t, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	clientName := ar.ClientID
	if c, err := p.Store.OAuth().Clients().GetClient(r.Context(), t.ID, ar.ClientID); err == nil && c.Name != "" {
		clientName = c.Name
	}
	var scopes []string
	for _, sc := range ar.Scopes {
		if txt, ok := scopeText[sc]; ok {
			scopes = append(scopes, txt)
		} else {
			scopes = append(scopes, "Use "+sc)
		}
	}
	allowFormRedirect(w, ar.RedirectURI)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err := consentPage.ExecuteTemplate(w, "layout", struct {
		view
		Scopes []string
	}{view{Title: "Allow access?", TenantName: t.Name, ClientName: clientName,
		Action: "/t/" + t.Slug + "/consent", CSRF: p.csrf(w, r), RequestID: ar.ID}, scopes})
	if err != nil {
		p.Log.Error("web: render consent", "err", err)
	}
}

func (p *Pages) consentSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !p.checkCSRF(r) {
		p.message(w, t, http.StatusForbidden, "Sign-in problem", "This form has expired. Go back, reload the page and try again.")
		return
	}
	ar, ok := p.consentRequest(w, r, t, r.PostFormValue("id"))
	if !ok {
		return
	}
	switch r.PostFormValue("decision") {
	case "approve":
		if err := p.Flow.GrantConsent(r.Context(), t.ID, ar); err != nil {
			p.Log.ErrorContext(r.Context(), "web: consent", "err", err)
			p.message(w, t, http.StatusInternalServerError, "Sign-in problem", "Something went wrong. Try again.")
			return
		}
		http.Redirect(w, r, p.Protocol.CallbackURL(t, ar.ID), http.StatusSeeOther)
	case "deny":
		p.Protocol.Deny(w, r, t, ar, "access_denied", "the user denied access")
	default:
		p.message(w, t, http.StatusBadRequest, "Sign-in problem", "Choose Allow or Deny.")
	}
}
