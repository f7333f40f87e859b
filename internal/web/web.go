// Package web serves the hosted pages (login now; sign-up, account and
// admin later) with html/template and embedded assets. Pages carry a strict
// CSP, a CSRF token on every form plus an Origin check, and work without
// JavaScript. The pages drive internal/flow; they never touch SQL.
package web

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/broker"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = map[string]*ui.Page{
	"login":   ui.Parse(templateFS, "templates/login.html", "templates/passkey_box.html", "templates/announcements.html"), // passkey.go
	"message": ui.Parse(templateFS, "templates/message.html"),
}

// Pages serves the hosted pages of every tenant.
type Pages struct {
	Tenants  *tenancy.Service
	Flow     *flow.Service
	Sessions *session.Service
	// Origins hands finished (or refused) logins back to the front ends
	// that started them, by the request's origin (origin.go).
	Origins Origins
	// Device serves the device page; nil leaves it unmounted (device.go).
	Device DeviceProtocol
	// CIBA serves the CIBA approval page; nil leaves it unmounted (ciba.go).
	CIBA      CIBAProtocol
	Store     store.Store
	Log       *slog.Logger
	PublicURL string
	// Account serves the account page; nil leaves it unmounted.
	Account *account.Service
	// SelfService runs sign-up, recovery and email login (selfservice.go).
	SelfService *selfservice.Service
	// Social serves social login and linked identities (social.go).
	Social *Social
	// SAMLApps lists the account page's app launcher; nil hides it.
	SAMLApps *samlreg.Service
	// Authz shows the account page's roles and takes elevation requests;
	// nil hides them (account_access.go).
	Authz *authz.Service
	// MFA manages the signed-in user's factors on the account page (mfa_account.go).
	MFA *mfa.Service
	// Announcer shows announcements on the login and account pages; nil
	// shows none (announcements.go).
	Announcer *notice.Announcer
	// Consent asks consent purposes at sign-in and serves the account
	// page's privacy section; nil mounts neither (purposes.go,
	// account_privacy.go).
	Consent *consent.Service
}

// Secure reports whether cookies get the Secure flag and __Host- names.
func (p *Pages) Secure() bool { return strings.HasPrefix(p.PublicURL, "https://") }

// SessionCookie names a tenant's session cookie.
func (p *Pages) SessionCookie(slug string) string { return SessionCookieName(p.PublicURL)(slug) }

// SessionCookieName answers how a deployment at publicURL names a tenant's
// session cookie: host-only (__Host-) under https. The protocols read the
// same cookie the pages set.
func SessionCookieName(publicURL string) func(slug string) string {
	secure := strings.HasPrefix(publicURL, "https://")
	return func(slug string) string {
		if secure {
			return "__Host-gh_session_" + slug
		}
		return "gh_session_" + slug
	}
}

// Mount registers the pages.
func (p *Pages) Mount(mux *http.ServeMux) {
	mux.Handle("GET /assets/", http.FileServerFS(ui.Assets))
	mux.HandleFunc("GET /t/{tenant}/branding.css", p.page(p.brandingCSS)) // branding.go
	mux.HandleFunc("GET /t/{tenant}/branding/logo", p.page(p.brandingLogo))
	mux.HandleFunc("GET /t/{tenant}/login", p.page(p.loginForm))
	mux.HandleFunc("POST /t/{tenant}/login", p.page(p.loginSubmit))
	mux.HandleFunc("GET /t/{tenant}/logged-out", p.page(p.loggedOut))
	mux.HandleFunc("GET /t/{tenant}/consent", p.page(p.consentForm))
	mux.HandleFunc("POST /t/{tenant}/consent", p.page(p.consentSubmit))
	mux.HandleFunc("GET /t/{tenant}/passkey-offer", p.page(p.passkeyOfferForm)) // nudge.go
	mux.HandleFunc("POST /t/{tenant}/passkey-offer", p.page(p.passkeyOfferSubmit))
	mux.HandleFunc("GET /t/{tenant}/login/profile", p.page(p.profileForm)) // profile.go
	mux.HandleFunc("POST /t/{tenant}/login/profile", p.page(p.profileSubmit))
	mux.HandleFunc("GET /t/{tenant}/device", p.page(p.deviceForm))    // RFC 8628: device.go
	mux.HandleFunc("POST /t/{tenant}/device", p.page(p.deviceSubmit)) // RFC 8628: device.go
	if p.CIBA != nil {
		mux.HandleFunc("GET /t/{tenant}/ciba", p.page(p.cibaForm)) // OpenID CIBA: ciba.go
		mux.HandleFunc("POST /t/{tenant}/ciba", p.page(p.cibaSubmit))
	}
	if p.Account != nil {
		p.mountAccount(mux) // account.go
	}
	p.mountSelfService(mux) // selfservice.go
	p.mountSocial(mux)      // social.go
	p.mountThrottle(mux)    // throttle.go
	p.mountMFALogin(mux)    // mfa.go
	if p.MFA != nil {
		p.mountPasskeys(mux) // passkey.go
	}
	if p.Consent != nil {
		p.mountPurposes(mux) // purposes.go, account_privacy.go
	}
}

type pageFunc func(w http.ResponseWriter, r *http.Request, t *store.Tenant)

// page takes the tenant the server resolved (httpx.ResolveTenants),
// answers 404 without one, and sets the headers every page carries.
func (p *Pages) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := httpx.Tenant(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		ui.SetHeaders(w, tenancy.PresentationOf(t, "/t/"+t.Slug).Brand)
		fn(w, r, t)
	}
}

type view struct {
	ui.Frame
	ClientName string
	// Error is a catalog key; Message is translated text (message pages).
	Error, Message          string
	Action, CSRF, RequestID string
	Identifier              string
	// Links are the login page's ways to sign up, recover or use email.
	Links loginLinks
	// Connections are the login page's social buttons (social.go).
	Connections []connButton
	// Passkey, when set, offers passkeys on the page (passkey.go).
	Passkey *passkeyBox
	// RememberDays > 0 offers "remember this device" (mfa.go).
	RememberDays int
	// EmailCode offers a code by email; EmailTicket names the one sent.
	EmailCode   bool
	EmailTicket string
	// Challenge, when set, makes the sign-in form solve it (throttle.go).
	Challenge *challengeBox
	// Announcements for the visitor, Back this page's path
	// (announcements.go).
	Announcements []notice.ShownAnnouncement
	Back          string
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	pages[name].Render(w, p.Log, status, v.Lang, v)
}

// message answers a page with a title and one sentence (catalog keys);
// args fill the sentence's placeholders as name, value pairs.
func (p *Pages) message(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, title, msg string, args ...any) {
	f := ui.FrameFor(r, t, nil, title)
	p.render(w, status, "message", view{Frame: f, Message: f.T(msg, args...)})
}

// readForm reads a posted page form (at most 16 KiB) and checks its CSRF
// token and Origin; otherwise it answers a page titled title and reports
// false.
func (p *Pages) readForm(w http.ResponseWriter, r *http.Request, t *store.Tenant, title string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.message(w, r, t, http.StatusBadRequest, title, "error.form_unreadable")
		return false
	}
	if !p.checkCSRF(r) {
		p.message(w, r, t, http.StatusForbidden, title, "error.form_expired")
		return false
	}
	return true
}

// csrf returns the browser's CSRF token, setting a new one if it has none.
func (p *Pages) csrf(w http.ResponseWriter, r *http.Request) string {
	return httpx.CSRF{PublicURL: p.PublicURL}.Token(w, r)
}

// checkCSRF: the form token must match the cookie (double submit), and an
// Origin header, when sent, must be ours.
func (p *Pages) checkCSRF(r *http.Request) bool {
	return httpx.CSRF{PublicURL: p.PublicURL}.Check(r)
}

func (p *Pages) currentSession(ctx context.Context, r *http.Request, t *store.Tenant) *store.Session {
	c, err := r.Cookie(p.SessionCookie(t.Slug))
	if err != nil {
		return nil
	}
	sess, err := p.Sessions.Lookup(ctx, t.ID, c.Value)
	if err != nil {
		return nil
	}
	return sess
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, err := p.Flow.Load(ctx, t.ID, r.URL.Query().Get("id"))
	if err == nil {
		ar, err = p.Flow.Opened(ctx, t.ID, ar) // a request shown lives longer
	}
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	sess := p.currentSession(ctx, r, t)
	none := false
	for _, pr := range ar.Prompt {
		none = none || pr == "none"
	}
	if sess != nil && p.Flow.Reusable(ar, sess) {
		// Complete checks the session's AMR against this request's MFA
		// policy (flow/enforce.go); short of it, the session steps up.
		err := p.Flow.Complete(flow.WithRememberToken(ctx, p.rememberCookie(r, t)), t.ID, ar.ID, sess)
		if err == nil {
			p.returnTo(w, r, t, ar, http.StatusFound)
			return
		}
		if errors.Is(err, flow.ErrProfileRequired) && none { // profile.go: the user must act
			p.deny(w, r, t, ar, "interaction_required", "the user must complete their profile")
			return
		}
		if errors.Is(err, flow.ErrPasskeyNudge) || errors.Is(err, flow.ErrProfileRequired) || errors.Is(err, flow.ErrPurposesAsked) {
			p.finished(w, r, t, ar, "", err)
			return
		}
		if errors.Is(err, flow.ErrConsentRequired) {
			p.toConsent(w, r, t, ar)
			return
		}
		if errors.Is(err, flow.ErrStepUpRequired) && !none && p.stepUp(w, r, t, ar, sess) { // mfa.go
			return
		}
	}
	if none {
		p.deny(w, r, t, ar, "login_required", "the user is not signed in")
		return
	}
	p.showLogin(w, r, t, ar, http.StatusOK, "", ar.LoginHint)
}

func (p *Pages) showLogin(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, msg, identifier string) {
	p.showLoginWith(w, r, t, ar, status, msg, identifier, nil)
}

// showLoginWith is showLogin whose form solves ch first (nil for none).
func (p *Pages) showLoginWith(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, msg, identifier string, ch *challengeBox) {
	clientName := ar.ClientID
	if c, err := p.Store.OAuth().Clients().GetClient(r.Context(), t.ID, ar.ClientID); err == nil && c.Name != "" {
		clientName = c.Name
	}
	allowFormRedirect(w, ar.ReturnURI)
	v := view{
		Frame: ui.FrameFor(r, t, ar.UILocales, "login.title"), ClientName: clientName, Error: msg,
		Action: "/t/" + t.Slug + "/login", CSRF: p.csrf(w, r), RequestID: ar.ID, Identifier: identifier,
		Links:       selfServiceLinks(t, ar.ID),
		Connections: p.connectionButtons(w, r.Context(), t, ar.ClientID),
		Challenge:   ch,
	}
	v.Passkey = p.passkeyLoginBox(w, t, "first", v) // passkey.go
	v.Announcements, v.Back = p.loginAnnouncements(r, t, v.Lang), r.URL.RequestURI()
	p.render(w, status, "login", v)
}

func (p *Pages) loginSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, ok := p.postedRequest(w, r, t) // mfa.go
	if !ok {
		return
	}
	identifier := strings.TrimSpace(r.PostFormValue("identifier"))
	password := r.PostFormValue("password")
	if conn := p.homeRealm(ctx, t, ar.ClientID, identifier); conn != nil { // social.go
		p.redirectUpstream(w, r, t, conn, broker.Pending{RequestID: ar.ID})
		return
	}
	if identifier == "" || password == "" || len(identifier) > 254 || len(password) > 1024 {
		p.showLogin(w, r, t, ar, http.StatusBadRequest, "login.missing", identifier)
		return
	}
	ctx = flow.WithRememberToken(p.passwordContext(r, t), p.rememberCookie(r, t)) // throttle.go, mfa.go
	_, token, err := p.Flow.PasswordLogin(ctx, t.ID, ar.ID, identifier, password, httpx.ClientIP(r), r.UserAgent())
	if ch, msg, ok := throttleAnswer(w, err); ok {
		p.showLoginWith(w, r, t, ar, http.StatusTooManyRequests, msg, identifier, ch)
		return
	}
	switch {
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.showLogin(w, r, t, ar, http.StatusUnauthorized, "login.invalid", identifier)
		return
	case p.toSecondFactor(w, r, t, ar.ID, err): // mfa.go
		return
	case p.riskBlocked(w, r, t, err): // risk.go
		return
	case errors.Is(err, flow.ErrMFAUnmet): // the password was right
		p.showLogin(w, r, t, ar, http.StatusForbidden, "mfa.unmet", identifier)
		return
	case errors.Is(err, flow.ErrUnverified): // the password was right
		p.resendVerification(r, t, identifier) // selfservice.go
		p.showLogin(w, r, t, ar, http.StatusForbidden, "login.unverified", identifier)
		return
	case errors.Is(err, flow.ErrRequestGone):
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_gone")
		return
	case p.mauLimit(w, r, t, err):
		return
	case p.hookDenied(w, r, t, err): // hooks.go
		return
	case p.finished(w, r, t, ar, token, err): // signed in; the consent step waits
		return
	case p.busy(w, r, t, err): // busy.go
		return
	case err != nil:
		httpx.LogFailure(ctx, p.Log, "web: login", err, "request_id", httpx.RequestID(ctx))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.finished(w, r, t, ar, token, nil)
}

// setSessionCookie gives the browser its session cookie for t, at the
// end of every sign-in, and records the sign-in's device and network
// (throttle.go).
func (p *Pages) setSessionCookie(w http.ResponseWriter, r *http.Request, t *store.Tenant, token string) {
	p.sessionCookie(w, t, token, 0)
	p.recognizeDevice(w, r, t, token)
}

// clearSessionCookie removes the browser's session cookie for t.
func (p *Pages) clearSessionCookie(w http.ResponseWriter, t *store.Tenant) {
	p.sessionCookie(w, t, "", -1)
}

func (p *Pages) sessionCookie(w http.ResponseWriter, t *store.Tenant, token string, maxAge int) {
	p.tenantCookie(w, t, p.SessionCookie(t.Slug), token, maxAge)
}

// tenantCookie sets an HttpOnly, SameSite=Lax cookie of t: host-wide under
// https (the __Host- names need Path=/), else under the tenant's path.
func (p *Pages) tenantCookie(w http.ResponseWriter, t *store.Tenant, name, value string, maxAge int) {
	cookie := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: p.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
	if !p.Secure() {
		cookie.Path = "/t/" + t.Slug + "/"
	}
	http.SetCookie(w, cookie)
}

func (p *Pages) loggedOut(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	p.message(w, r, t, http.StatusOK, "logout.done_title", "logout.done_body")
}

// allowFormRedirect adds the client's redirect origin to the page's
// form-action: Chromium checks form-action on every redirect that follows a
// form's POST, and a sign-in form's POST ends at the client.
func allowFormRedirect(w http.ResponseWriter, redirectURI string) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return
	}
	src := u.Scheme + ":"
	if (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		src = u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
		"form-action 'self'", "form-action 'self' "+src, 1))
}
