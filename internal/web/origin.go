package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Origin is a front end that starts logins (a protocol, the device page):
// the hosted pages hand each finished or refused login back to the
// handler registered for its request's origin. Adding a way in is one
// Origin and one flow.Start.
type Origin interface {
	// Return is where the browser goes once the login of req is done;
	// the origin takes the request there (flow.Take) and answers its
	// protocol.
	Return(t *store.Tenant, req *store.LoginRequest) string
	// Deny answers the origin's requester with an error (login_required,
	// consent_required, access_denied) and ends req.
	Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, code, description string)
}

// Origins registers the Origin of each origin name (flow.OriginOIDC, ...).
type Origins map[string]Origin

// returnURL is where the origin of a done request takes it; "" when its
// origin is not registered.
func (p *Pages) returnURL(t *store.Tenant, req *store.LoginRequest) string {
	if o, ok := p.Origins[req.Origin]; ok {
		return o.Return(t, req)
	}
	return ""
}

// returnByID is returnURL for a request known by id only ("" when it is
// gone).
func (p *Pages) returnByID(r *http.Request, t *store.Tenant, id string) string {
	req, err := p.Flow.Lookup(r.Context(), t.ID, id)
	if err != nil {
		return ""
	}
	return p.returnURL(t, req)
}

// returnTo sends the browser to the origin of a done request.
func (p *Pages) returnTo(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, status int) {
	o, ok := p.Origins[req.Origin]
	if !ok {
		p.Log.ErrorContext(r.Context(), "web: login request of an unregistered origin", "origin", req.Origin,
			"request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	http.Redirect(w, r, o.Return(t, req), status)
}

// deny hands a refused login back to its origin.
func (p *Pages) deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, code, description string) {
	o, ok := p.Origins[req.Origin]
	if !ok {
		p.Flow.Drop(r.Context(), t.ID, req.ID)
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_gone")
		return
	}
	o.Deny(w, r, t, req, code, description)
}

// toConsent renders the consent step: the browser, now signed in, goes to
// the consent screen of req.
func (p *Pages) toConsent(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest) {
	if slices.Contains(req.Prompt, "none") {
		p.deny(w, r, t, req, "consent_required", "the user has not granted this client access")
		return
	}
	http.Redirect(w, r, waitingStep(t, req.ID, flow.ErrConsentRequired), http.StatusSeeOther)
}

// waitingStep is the path of the page of the step that waits for the user
// after the session (err from the flow says which), or "" when none does.
func waitingStep(t *store.Tenant, id string, err error) string {
	switch {
	case errors.Is(err, flow.ErrConsentRequired):
		return "/t/" + t.Slug + "/consent?id=" + url.QueryEscape(id)
	case errors.Is(err, flow.ErrPasskeyNudge):
		return "/t/" + t.Slug + "/passkey-offer?id=" + url.QueryEscape(id)
	case errors.Is(err, flow.ErrProfileRequired):
		return "/t/" + t.Slug + "/login/profile?id=" + url.QueryEscape(id)
	case errors.Is(err, flow.ErrPurposesAsked):
		return "/t/" + t.Slug + "/purposes?id=" + url.QueryEscape(id)
	}
	return ""
}

// finished answers the browser after a login step of req: the step's page
// when one waits for the user after the session (consent), else the
// origin's return. token, when set, is the new session's cookie value.
func (p *Pages) finished(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, token string, err error) bool {
	switch {
	case err == nil:
	case errors.Is(err, flow.ErrConsentRequired):
	case errors.Is(err, flow.ErrPasskeyNudge), errors.Is(err, flow.ErrProfileRequired), errors.Is(err, flow.ErrPurposesAsked):
		if token != "" {
			p.setSessionCookie(w, r, t, token)
		}
		if errors.Is(err, flow.ErrPurposesAsked) && slices.Contains(req.Prompt, "none") {
			// No page may be shown: the client hears that the user must
			// answer first, as for its own consent screen.
			p.deny(w, r, t, req, "consent_required", "the user has consent purposes to answer")
			return true
		}
		http.Redirect(w, r, waitingStep(t, req.ID, err), http.StatusSeeOther)
		return true
	default:
		return false
	}
	if token != "" {
		p.setSessionCookie(w, r, t, token)
	}
	if err != nil {
		p.toConsent(w, r, t, req)
		return true
	}
	p.returnTo(w, r, t, req, http.StatusSeeOther)
	return true
}
