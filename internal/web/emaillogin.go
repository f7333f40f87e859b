package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// emailLoginForm: with ?token= (the mailed link) a confirmation button,
// otherwise the form asking for the address. Nothing changes on a GET.
func (p *Pages) emailLoginForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "email_login.title")
	if tok := r.URL.Query().Get("token"); tok != "" {
		requestID, err := p.SelfService.CheckEmailLink(r.Context(), t, tok)
		if err != nil {
			p.emailLoginError(w, r, t, err)
			return
		}
		p.allowClientRedirect(r, w, t, requestID)
		p.ssRender(w, http.StatusOK, "confirm", ssView{Frame: f, Message: f.T("email_login.confirm_body"),
			Submit: "email_login.confirm_submit", Action: "/t/" + t.Slug + "/login/email", CSRF: p.csrf(w, r), Token: tok})
		return
	}
	if pol, _ := selfservice.Policy(t); !pol.Passwordless {
		p.message(w, r, t, http.StatusNotFound, "email_login.title", "email_login.disabled")
		return
	}
	id := r.URL.Query().Get("id")
	p.ssRender(w, http.StatusOK, "email", ssView{Frame: f, Message: f.T("email_login.sub"), Submit: "email_login.submit",
		Action: "/t/" + t.Slug + "/login/email", CSRF: p.csrf(w, r), RequestID: id, LoginURL: p.loginURL(r, t, id)})
}

// emailLoginSubmit starts (email), or finishes (token, or ticket + code).
func (p *Pages) emailLoginSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	f := ui.FrameFor(r, t, nil, "email_login.title")
	var (
		done *selfservice.EmailLogin
		err  error
	)
	switch {
	case r.PostFormValue("token") != "":
		done, err = p.SelfService.FinishEmailLink(ctx, t, r.PostFormValue("token"), p.signupBrowserCookie(r, t))
	case r.PostFormValue("ticket") != "":
		done, err = p.SelfService.FinishEmailCode(ctx, t, r.PostFormValue("ticket"), r.PostFormValue("code"), p.signupBrowserCookie(r, t))
		if errors.Is(err, selfservice.ErrWrongCode) {
			p.allowClientRedirect(r, w, t, r.PostFormValue("id"))
			p.ssRender(w, http.StatusBadRequest, "code", ssView{Frame: f, ErrorText: f.T("verify.wrong_code"),
				Submit: "email_login.confirm_submit", Action: "/t/" + t.Slug + "/login/email", CSRF: p.csrf(w, r),
				RequestID: r.PostFormValue("id"), Ticket: r.PostFormValue("ticket")})
			return
		}
	default:
		email := strings.TrimSpace(r.PostFormValue("email"))
		if len(email) > 254 {
			email = ""
		}
		id := r.PostFormValue("id")
		if len(id) > 64 {
			id = ""
		}
		ticket, err := p.SelfService.StartEmailLogin(ctx, t, id, email, httpx.ClientIP(r), f.Lang)
		if err != nil {
			p.emailLoginError(w, r, t, err)
			return
		}
		p.allowClientRedirect(r, w, t, id)
		p.ssRender(w, http.StatusOK, "code", ssView{Frame: f, Message: f.T("email_login.sent_body", "email", email),
			Submit: "email_login.confirm_submit", Action: "/t/" + t.Slug + "/login/email", CSRF: p.csrf(w, r),
			RequestID: id, Ticket: ticket})
		return
	}
	if err != nil {
		p.emailLoginError(w, r, t, err)
		return
	}
	_, token, err := p.Flow.EmailLogin(ctx, t.ID, done.RequestID, done.UserID, httpx.ClientIP(r), r.UserAgent())
	switch {
	case p.emailSecondFactor(w, r, t, done.RequestID, err): // mfa_account_login.go
	case errors.Is(err, flow.ErrRequestGone):
		// Signed in, but no application is waiting: the account page.
		p.setSessionCookie(w, r, t, token)
		http.Redirect(w, r, "/t/"+t.Slug+"/account", http.StatusSeeOther)
	case errors.Is(err, flow.ErrConsentRequired), errors.Is(err, flow.ErrProfileRequired), errors.Is(err, flow.ErrPurposesAsked):
		if req, lerr := p.Flow.Lookup(ctx, t.ID, done.RequestID); lerr == nil {
			p.finished(w, r, t, req, token, err)
			return
		}
		p.emailLoginError(w, r, t, flow.ErrRequestGone)
	case p.mauLimit(w, r, t, err):
	case p.hookDenied(w, r, t, err): // hooks.go
	case err != nil:
		p.emailLoginError(w, r, t, err)
	default:
		p.setSessionCookie(w, r, t, token)
		next := p.returnByID(r, t, done.RequestID)
		if next == "" {
			next = "/t/" + t.Slug + "/account"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (p *Pages) emailLoginError(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	switch {
	case errors.Is(err, selfservice.ErrPasswordless):
		p.message(w, r, t, http.StatusNotFound, "email_login.title", "email_login.disabled")
	case errors.Is(err, selfservice.ErrInvalidToken), errors.Is(err, flow.ErrInvalidCredentials):
		p.message(w, r, t, http.StatusBadRequest, "email_login.title", "verify.invalid")
	case errors.Is(err, flow.ErrUnverified):
		p.message(w, r, t, http.StatusForbidden, "email_login.title", "login.unverified")
	case errors.Is(err, flow.ErrMFAUnmet):
		p.message(w, r, t, http.StatusForbidden, "email_login.title", "mfa.unmet")
	default:
		p.fail(w, r, t, "email login", err)
	}
}

// allowClientRedirect lets a page whose form ends at the client (through
// the callback's redirect) post there: Chromium checks the form's page's
// form-action on every redirect after the POST, as on the login page.
func (p *Pages) allowClientRedirect(r *http.Request, w http.ResponseWriter, t *store.Tenant, requestID string) {
	if requestID == "" || len(requestID) > 64 {
		return
	}
	if ar, err := p.Flow.Lookup(r.Context(), t.ID, requestID); err == nil {
		allowFormRedirect(w, ar.ReturnURI)
	}
}
