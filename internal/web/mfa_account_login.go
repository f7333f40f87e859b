package web

// The account page's own sign-in asks for the second factor too
// (/t/{tenant}/account/login/mfa): same ticket cookie, same code check and
// throttle as a login for a client, but no authorization request; success
// lands on the account page.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

func (p *Pages) mountAccountLoginMFA(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/account/login/mfa", p.page(p.accountMFALoginForm))
	mux.HandleFunc("POST /t/{tenant}/account/login/mfa", p.page(p.accountMFALoginSubmit))
	mux.HandleFunc("POST /t/{tenant}/account/login/mfa/email", p.page(p.accountMFALoginEmail)) // risk.go
}

// toAccountSecondFactor answers a *flow.SecondFactorError of the account
// sign-in; it reports whether err was one.
func (p *Pages) toAccountSecondFactor(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	var sf *flow.SecondFactorError
	if !errors.As(err, &sf) {
		return false
	}
	p.setMFACookie(w, t, sf.Token, 600)
	http.Redirect(w, r, "/t/"+t.Slug+"/account/login/mfa?ui_locales="+ui.FrameFor(r, t, nil, "").Lang, http.StatusSeeOther)
	return true
}

func (p *Pages) showAccountMFALogin(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, msg string) {
	p.showAccountMFALoginPage(w, r, t, status, view{Error: msg, EmailTicket: r.PostFormValue("email_ticket")})
}

func (p *Pages) showAccountMFALoginPage(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, v view) {
	v.Frame, v.Action, v.CSRF = ui.FrameFor(r, t, nil, "mfa.login_title"), "/t/"+t.Slug+"/account/login/mfa", p.csrf(w, r)
	v.EmailCode = p.accountLoginEmailCode(r, t) // risk.go
	if len(v.EmailTicket) > 64 {
		v.EmailTicket = ""
	}
	v.Passkey = p.passkeyLoginBox(w, t, "second", v) // passkey.go (no request id)
	mfaPage.Render(w, p.Log, status, v.Lang, v)
}

func (p *Pages) accountMFALoginForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if _, err := p.Flow.PendingRequest(r.Context(), t.ID, "", p.mfaTicket(r, t)); err != nil {
		http.Redirect(w, r, p.accountLoginURL(t, ui.FrameFor(r, t, nil, "").Lang), http.StatusFound)
		return
	}
	p.showAccountMFALogin(w, r, t, http.StatusOK, "")
}

func (p *Pages) accountMFALoginSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	if !p.readForm(w, r, t, "error.title") {
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" || len(code) > 16 {
		p.showAccountMFALogin(w, r, t, http.StatusBadRequest, "mfa.invalid")
		return
	}
	_, token, err := p.Flow.SecondFactorLogin(ctx, t.ID, "", p.mfaTicket(r, t), code, r.PostFormValue("email_ticket"),
		httpx.ClientIP(r), r.UserAgent())
	var throttled *flow.ThrottledError
	switch {
	case errors.As(err, &throttled):
		p.showAccountMFALogin(w, r, t, http.StatusTooManyRequests, "login.throttled")
		return
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.showAccountMFALogin(w, r, t, http.StatusUnauthorized, "mfa.invalid")
		return
	case errors.Is(err, flow.ErrRequestGone):
		http.Redirect(w, r, p.accountLoginURL(t, ui.FrameFor(r, t, nil, "").Lang), http.StatusSeeOther)
		return
	case p.mauLimit(w, r, t, err):
		return
	case p.hookDenied(w, r, t, err): // hooks.go
		return
	case err != nil:
		httpx.LogFailure(ctx, p.Log, "web: account second factor", err, "request_id", httpx.RequestID(ctx))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.setMFACookie(w, t, "", -1)
	p.setSessionCookie(w, r, t, token)
	http.Redirect(w, r, "/t/"+t.Slug+"/account?ui_locales="+ui.FrameFor(r, t, nil, "").Lang, http.StatusSeeOther)
}

// emailSecondFactor answers a *flow.SecondFactorError of an email login:
// to the code page of its request, or of the account sign-in when no
// request waits. It reports whether err was one.
func (p *Pages) emailSecondFactor(w http.ResponseWriter, r *http.Request, t *store.Tenant, requestID string, err error) bool {
	if requestID != "" {
		if _, lerr := p.Flow.Load(r.Context(), t.ID, requestID); lerr == nil {
			return p.toSecondFactor(w, r, t, requestID, err)
		}
	}
	return p.toAccountSecondFactor(w, r, t, err)
}
