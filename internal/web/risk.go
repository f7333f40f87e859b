package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// riskBlocked answers a sign-in the risk policy refused: a page with the
// tenant's support message (or the default one), 403. It reports whether
// err was such a refusal.
func (p *Pages) riskBlocked(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	var b *flow.BlockedError
	if !errors.As(err, &b) {
		return false
	}
	if b.Support != "" {
		p.message(w, r, t, http.StatusForbidden, "risk.blocked_title", "risk.blocked_support", "support", b.Support)
		return true
	}
	p.message(w, r, t, http.StatusForbidden, "risk.blocked_title", "risk.blocked_body")
	return true
}

// accountLoginEmailCode reports whether the account sign-in's pending
// second factor may be an emailed code: the user has the email factor, or
// the risk step asked for the second factor (a user without one).
func (p *Pages) accountLoginEmailCode(r *http.Request, t *store.Tenant) bool {
	if p.MFA == nil {
		return false
	}
	ticket := p.mfaTicket(r, t)
	uid, err := p.Flow.PendingRequest(r.Context(), t.ID, "", ticket)
	if err != nil {
		return false
	}
	return p.MFA.HasEmailCode(r.Context(), t, uid) || p.Flow.RiskStepUp(r.Context(), t.ID, "", ticket)
}

// accountMFALoginEmail mails the pending user of the account sign-in a
// code and shows the code page again with the mail's ticket.
func (p *Pages) accountMFALoginEmail(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	if !p.readForm(w, r, t, "error.title") {
		return
	}
	f := ui.FrameFor(r, t, nil, "mfa.login_title")
	ticket, err := p.Flow.SendEmailCode(ctx, t, "", p.mfaTicket(r, t), f.Lang)
	var throttled *flow.ThrottledError
	switch {
	case errors.As(err, &throttled):
		p.showAccountMFALogin(w, r, t, http.StatusTooManyRequests, "login.throttled")
		return
	case errors.Is(err, flow.ErrRequestGone):
		http.Redirect(w, r, p.accountLoginURL(t, f.Lang), http.StatusSeeOther)
		return
	case errors.Is(err, mfa.ErrEmailCodeOff):
		p.showAccountMFALogin(w, r, t, http.StatusBadRequest, "mfa.invalid")
		return
	case err != nil:
		httpx.LogFailure(ctx, p.Log, "web: account second factor mail", err, "request_id", httpx.RequestID(ctx))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.showAccountMFALoginPage(w, r, t, http.StatusOK, view{EmailTicket: ticket, Message: f.T("mfa.email_sent")})
}
