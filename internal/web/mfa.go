package web

// The second-factor step of a login (/t/{tenant}/login/mfa). The login
// page, after a right password, or a step-up inside an existing session,
// gets a pending ticket from internal/flow and keeps it in a short-lived
// HttpOnly cookie; this page asks for a TOTP or recovery code and hands
// both to flow.SecondFactorLogin. No session exists until it succeeds.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

var mfaPage = ui.Parse(templateFS, "templates/mfa.html", "templates/passkey_box.html")

func (p *Pages) mountMFALogin(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/login/mfa", p.page(p.mfaForm))
	mux.HandleFunc("POST /t/{tenant}/login/mfa", p.page(p.mfaSubmit))
	mux.HandleFunc("POST /t/{tenant}/login/mfa/email", p.page(p.mfaEmail))
	if p.Account != nil && p.MFA != nil {
		p.mountAccountMFA(mux)      // mfa_account.go
		p.mountAccountLoginMFA(mux) // mfa_account_login.go
	}
}

// mfaCookie names the pending-ticket cookie of a tenant.
func (p *Pages) mfaCookie(slug string) string {
	if p.Secure() {
		return "__Host-gh_mfa_" + slug
	}
	return "gh_mfa_" + slug
}

func (p *Pages) setMFACookie(w http.ResponseWriter, t *store.Tenant, ticket string, maxAge int) {
	c := &http.Cookie{Name: p.mfaCookie(t.Slug), Value: ticket, Path: "/", HttpOnly: true,
		Secure: p.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
	if !p.Secure() {
		c.Path = "/t/" + t.Slug + "/"
	}
	http.SetCookie(w, c)
}

// toSecondFactor answers a *flow.SecondFactorError: the ticket into its
// cookie, the browser to the code page. It reports whether err was one.
func (p *Pages) toSecondFactor(w http.ResponseWriter, r *http.Request, t *store.Tenant, requestID string, err error) bool {
	var sf *flow.SecondFactorError
	if !errors.As(err, &sf) {
		return false
	}
	p.setMFACookie(w, t, sf.Token, 600)
	http.Redirect(w, r, "/t/"+t.Slug+"/login/mfa?id="+requestID, http.StatusSeeOther)
	return true
}

func (p *Pages) mfaTicket(r *http.Request, t *store.Tenant) string {
	c, err := r.Cookie(p.mfaCookie(t.Slug))
	if err != nil {
		return ""
	}
	return c.Value
}

func (p *Pages) showMFA(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, msg string) {
	p.showMFAPage(w, r, t, ar, status, view{Error: msg, EmailTicket: r.PostFormValue("email_ticket")})
}

func (p *Pages) showMFAPage(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, v view) {
	allowFormRedirect(w, ar.ReturnURI)
	v.Frame, v.Action, v.CSRF, v.RequestID = ui.FrameFor(r, t, ar.UILocales, "mfa.login_title"), "/t/"+t.Slug+"/login/mfa", p.csrf(w, r), ar.ID
	if uid, err := p.Flow.PendingRequest(r.Context(), t.ID, ar.ID, p.mfaTicket(r, t)); err == nil {
		v.EmailCode = p.MFA != nil && (p.MFA.HasEmailCode(r.Context(), t, uid) ||
			p.Flow.RiskStepUp(r.Context(), t.ID, ar.ID, p.mfaTicket(r, t))) // a risk step-up without a factor: risk.go
	}
	if len(v.EmailTicket) > 64 {
		v.EmailTicket = ""
	}
	v.Passkey = p.passkeyLoginBox(w, t, "second", v) // passkey.go
	if set, err := tenancy.ParseSettings(t.Settings); err == nil {
		v.RememberDays = set.MFA.RememberDays
	}
	mfaPage.Render(w, p.Log, status, v.Lang, v)
}

func (p *Pages) mfaForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, err := p.Flow.Load(ctx, t.ID, r.URL.Query().Get("id"))
	if err == nil {
		_, err = p.Flow.PendingRequest(ctx, t.ID, ar.ID, p.mfaTicket(r, t))
	}
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	p.showMFA(w, r, t, ar, http.StatusOK, "")
}

func (p *Pages) mfaSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, ok := p.postedRequest(w, r, t)
	if !ok {
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" || len(code) > 16 {
		p.showMFA(w, r, t, ar, http.StatusBadRequest, "mfa.invalid")
		return
	}
	sess, token, err := p.Flow.SecondFactorLogin(ctx, t.ID, ar.ID, p.mfaTicket(r, t), code, r.PostFormValue("email_ticket"),
		httpx.ClientIP(r), r.UserAgent())
	if errors.Is(err, flow.ErrConsentRequired) || errors.Is(err, flow.ErrProfileRequired) || errors.Is(err, flow.ErrPurposesAsked) {
		p.setMFACookie(w, t, "", -1)
		p.rememberDevice(w, r, t, sess)
		p.finished(w, r, t, ar, token, err)
		return
	}
	switch {
	case p.mfaGone(w, r, t, ar, err):
		return
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.showMFA(w, r, t, ar, http.StatusUnauthorized, "mfa.invalid")
		return
	case p.mauLimit(w, r, t, err):
		return
	case p.hookDenied(w, r, t, err): // hooks.go
		return
	case err != nil:
		httpx.LogFailure(ctx, p.Log, "web: second factor", err, "request_id", httpx.RequestID(ctx))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.setMFACookie(w, t, "", -1)
	p.rememberDevice(w, r, t, sess)
	p.finished(w, r, t, ar, token, nil)
}

// rememberCookieName names the remembered-device cookie of a tenant.
func (p *Pages) rememberCookieName(slug string) string {
	if p.Secure() {
		return "__Host-gh_mfa_rd_" + slug
	}
	return "gh_mfa_rd_" + slug
}

// rememberCookie reads the browser's remembered-device token for t.
func (p *Pages) rememberCookie(r *http.Request, t *store.Tenant) string {
	c, err := r.Cookie(p.rememberCookieName(t.Slug))
	if err != nil {
		return ""
	}
	return c.Value
}

// rememberDevice, when the user ticked "remember this device" and the
// tenant offers it, gives the browser a remembered-device cookie.
func (p *Pages) rememberDevice(w http.ResponseWriter, r *http.Request, t *store.Tenant, sess *store.Session) {
	if r.PostFormValue("remember") != "1" {
		return
	}
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil || set.MFA.RememberDays <= 0 {
		return
	}
	token, err := p.Flow.RememberDevice(r.Context(), t.ID, sess.UserID, set.MFA.RememberDays)
	if err != nil {
		p.Log.WarnContext(r.Context(), "web: remember device", "err", err, "request_id", httpx.RequestID(r.Context()))
		return
	}
	c := &http.Cookie{Name: p.rememberCookieName(t.Slug), Value: token, Path: "/", HttpOnly: true,
		Secure: p.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: set.MFA.RememberDays * 24 * 3600}
	if !p.Secure() {
		c.Path = "/t/" + t.Slug + "/"
	}
	http.SetCookie(w, c)
}

// stepUp asks an existing session for a second factor (the client sent
// acr_values for MFA). It reports whether it answered the request; false
// leaves the login page to be shown (a fresh login).
func (p *Pages) stepUp(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, sess *store.Session) bool {
	err := p.Flow.StepUp(r.Context(), t.ID, ar, sess)
	if p.toSecondFactor(w, r, t, ar.ID, err) {
		return true
	}
	if errors.Is(err, flow.ErrMFAUnmet) {
		p.deny(w, r, t, ar, "access_denied", "a second factor is required and none is enrolled")
		return true
	}
	return false
}

// postedRequest reads a posted login-step form (CSRF, Origin, bounded
// body) and loads its authorization request; otherwise it answers the
// browser and reports false.
func (p *Pages) postedRequest(w http.ResponseWriter, r *http.Request, t *store.Tenant) (*store.LoginRequest, bool) {
	if !p.readForm(w, r, t, "error.title") {
		return nil, false
	}
	ar, err := p.Flow.Load(r.Context(), t.ID, r.PostFormValue("id"))
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return nil, false
	}
	return ar, true
}

// mfaEmail mails the pending user a code and shows the code page again
// with the mail's ticket.
func (p *Pages) mfaEmail(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, ok := p.postedRequest(w, r, t)
	if !ok {
		return
	}
	f := ui.FrameFor(r, t, ar.UILocales, "mfa.login_title")
	ticket, err := p.Flow.SendEmailCode(ctx, t, ar.ID, p.mfaTicket(r, t), f.Lang)
	switch {
	case p.mfaGone(w, r, t, ar, err):
		return
	case errors.Is(err, mfa.ErrEmailCodeOff):
		p.showMFA(w, r, t, ar, http.StatusBadRequest, "mfa.invalid")
		return
	case err != nil:
		httpx.LogFailure(ctx, p.Log, "web: second factor mail", err, "request_id", httpx.RequestID(ctx))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.showMFAPage(w, r, t, ar, http.StatusOK, view{EmailTicket: ticket, Message: f.T("mfa.email_sent")})
}

// mfaGone answers the errors every code-page post shares (throttled, the
// request or ticket gone) and reports whether err was one.
func (p *Pages) mfaGone(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, err error) bool {
	var throttled *flow.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		p.showMFA(w, r, t, ar, http.StatusTooManyRequests, "login.throttled")
		return true
	case errors.Is(err, flow.ErrRequestGone):
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_gone")
		return true
	}
	return false
}
