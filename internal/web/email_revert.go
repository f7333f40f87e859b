package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The page behind the link mailed to a previous address after an email
// change: it puts that address back and ends every session. No sign-in is
// needed (whoever changed the address may hold the sessions); the link is
// the proof.

// emailRevertForm: GET .../email/revert?token=... asks for a click (a GET
// changes nothing: mail scanners follow links).
func (p *Pages) emailRevertForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	tok := r.URL.Query().Get("token")
	if err := p.Account.CheckRevertLink(r.Context(), t.ID, tok); err != nil {
		p.emailRevertError(w, r, t, err)
		return
	}
	f := ui.FrameFor(r, t, nil, "email_revert.title")
	p.ssRender(w, http.StatusOK, "confirm", ssView{Frame: f, Message: f.T("email_revert.confirm_body"),
		Submit: "email_revert.submit", Action: "/t/" + t.Slug + "/email/revert", CSRF: p.csrf(w, r), Token: tok})
}

// emailRevertSubmit: POST .../email/revert spends the link.
func (p *Pages) emailRevertSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "email_revert.title") {
		return
	}
	ctx := r.Context()
	u, err := p.Account.RevertEmailChange(ctx, httpx.ClientIP(r), httpx.RequestID(ctx), t.ID, r.PostForm.Get("token"))
	if err != nil {
		p.emailRevertError(w, r, t, err)
		return
	}
	p.clearSessionCookie(w, t)
	p.done(w, r, t, "email_revert.done_title", "email_revert.done_body", "/t/"+t.Slug+"/account", "email", u.Email)
}

func (p *Pages) emailRevertError(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	switch {
	case errors.Is(err, account.ErrBadLink):
		p.message(w, r, t, http.StatusBadRequest, "email_revert.title", "email_revert.invalid")
	case errors.Is(err, account.ErrEmailTaken):
		p.message(w, r, t, http.StatusConflict, "email_revert.title", "email_revert.taken")
	default:
		p.Log.ErrorContext(r.Context(), "web: email revert", "err", err, "request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "email_revert.title", "error.generic")
	}
}

// noticeFailed logs, and clears, an error saying that a change was made
// but its notice was not queued: the person sees the change succeed.
func (p *Pages) noticeFailed(r *http.Request, err error) error {
	if errors.Is(err, account.ErrNoticeFailed) {
		p.Log.ErrorContext(r.Context(), "web: change notice", "err", err, "request_id", httpx.RequestID(r.Context()))
		return nil
	}
	return err
}
