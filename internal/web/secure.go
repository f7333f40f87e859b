package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The page behind a notice's "this was not me" link: it ends every
// session of the account and starts a reset. No sign-in is needed
// (whoever made the change may hold the sessions); the link is the proof.

// secureForm: GET .../account/secure?token=... asks for a click (a GET
// changes nothing: mail scanners follow links).
func (p *Pages) secureForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	tok := r.URL.Query().Get("token")
	if err := p.SelfService.CheckSecureLink(r.Context(), t, tok); err != nil {
		p.secureError(w, r, t, err)
		return
	}
	f := ui.FrameFor(r, t, nil, "secure.title")
	p.ssRender(w, http.StatusOK, "confirm", ssView{Frame: f, Message: f.T("secure.confirm_body"),
		Submit: "secure.submit", Action: "/t/" + t.Slug + "/account/secure", CSRF: p.csrf(w, r), Token: tok})
}

// secureSubmit: POST .../account/secure spends the link, then sends the
// browser to the reset form when a reset was started.
func (p *Pages) secureSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "secure.title") {
		return
	}
	reset, err := p.SelfService.SecureAccount(r.Context(), t, r.PostForm.Get("token"), httpx.ClientIP(r))
	if err != nil {
		p.secureError(w, r, t, err)
		return
	}
	p.clearSessionCookie(w, t)
	if reset != "" {
		http.Redirect(w, r, "/t/"+t.Slug+"/password/reset?token="+url.QueryEscape(reset), http.StatusSeeOther)
		return
	}
	p.done(w, r, t, "secure.done_title", "secure.done_body", "/t/"+t.Slug+"/account")
}

func (p *Pages) secureError(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	if errors.Is(err, selfservice.ErrInvalidToken) {
		p.message(w, r, t, http.StatusBadRequest, "secure.title", "secure.invalid")
		return
	}
	p.Log.ErrorContext(r.Context(), "web: secure account", "err", err, "request_id", httpx.RequestID(r.Context()))
	p.message(w, r, t, http.StatusInternalServerError, "secure.title", "error.generic")
}
