package web

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

//go:embed ssassets/signup.js
var ssAssets embed.FS

var ssPages = map[string]*ui.Page{
	"signup":      ui.Parse(templateFS, "templates/signup.html"),
	"code":        ui.Parse(templateFS, "templates/code.html"),
	"confirm":     ui.Parse(templateFS, "templates/confirm.html"),
	"email":       ui.Parse(templateFS, "templates/email.html"),
	"newpassword": ui.Parse(templateFS, "templates/newpassword.html"),
	"done":        ui.Parse(templateFS, "templates/done.html"),
}

// ssView is the data of the self-service pages.
type ssView struct {
	ui.Frame
	// ErrorText and Message are translated sentences; Submit a catalog key.
	ErrorText, Message, Submit string
	Action, CSRF, RequestID    string
	Email, Ticket, Token       string
	Policy                     credential.Policy
	MaxLength                  int
	TermsURL, PrivacyURL       string
	LoginURL                   string
	// Purposes are the consent purposes the sign-up form asks (purposes.go).
	Purposes []purposeRow
}

// mountSelfService registers sign-up, verification, recovery, email login
// and invitation pages.
func (p *Pages) mountSelfService(mux *http.ServeMux) {
	mux.HandleFunc("GET /assets/signup.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, ssAssets, "ssassets/signup.js")
	})
	mux.HandleFunc("GET /t/{tenant}/signup", p.page(p.signupForm))
	mux.HandleFunc("POST /t/{tenant}/signup", p.page(p.form(p.signupSubmit)))
	mux.HandleFunc("GET /t/{tenant}/verify", p.page(p.verifyLinkForm))
	mux.HandleFunc("POST /t/{tenant}/verify", p.page(p.form(p.verifySubmit)))
	mux.HandleFunc("GET /t/{tenant}/password/forgot", p.page(p.forgotForm))
	mux.HandleFunc("POST /t/{tenant}/password/forgot", p.page(p.form(p.forgotSubmit)))
	mux.HandleFunc("GET /t/{tenant}/password/reset", p.page(p.linkForm(p.resetLink)))
	mux.HandleFunc("POST /t/{tenant}/password/reset", p.page(p.form(p.linkSubmit(p.resetLink))))
	mux.HandleFunc("GET /t/{tenant}/invitation", p.page(p.linkForm(p.inviteLink)))
	mux.HandleFunc("POST /t/{tenant}/invitation", p.page(p.form(p.linkSubmit(p.inviteLink))))
	mux.HandleFunc("GET /t/{tenant}/login/email", p.page(p.emailLoginForm))
	mux.HandleFunc("POST /t/{tenant}/login/email", p.page(p.form(p.emailLoginSubmit)))
}

// form reads a posted form (bounded) and checks its CSRF token first.
func (p *Pages) form(fn pageFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			p.message(w, r, t, http.StatusBadRequest, "error.title", "error.form_unreadable")
			return
		}
		if !p.checkCSRF(r) {
			p.message(w, r, t, http.StatusForbidden, "error.title", "error.form_expired")
			return
		}
		fn(w, r, t)
	}
}

// allowScript lets the page load /assets/signup.js (and nothing else).
func allowScript(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
		"default-src 'none';", "default-src 'none'; script-src 'self';", 1))
}

func (p *Pages) ssRender(w http.ResponseWriter, status int, name string, v ssView) {
	ssPages[name].Render(w, p.Log, status, v.Lang, v)
}

// done answers a page with a title, a sentence and a sign-in link.
func (p *Pages) done(w http.ResponseWriter, r *http.Request, t *store.Tenant, title, msg, login string, args ...any) {
	f := ui.FrameFor(r, t, nil, title)
	p.ssRender(w, http.StatusOK, "done", ssView{Frame: f, Message: f.T(msg, args...), LoginURL: login})
}

// loginURL is the sign-in page of a pending request, "" without one.
func (p *Pages) loginURL(r *http.Request, t *store.Tenant, id string) string {
	if id == "" {
		return ""
	}
	if _, err := p.Flow.Load(r.Context(), t.ID, id); err != nil {
		return ""
	}
	return "/t/" + t.Slug + "/login?id=" + url.QueryEscape(id)
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, t *store.Tenant, where string, err error) {
	var throttled *flow.ThrottledError
	if errors.As(err, &throttled) {
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		p.message(w, r, t, http.StatusTooManyRequests, "error.title", "signup.throttled")
		return
	}
	p.Log.ErrorContext(r.Context(), "web: "+where, "err", err, "request_id", httpx.RequestID(r.Context()))
	p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
}

// fieldText translates a service's field errors into one sentence each.
func fieldText(f ui.Frame, pol credential.Policy, err error) (string, bool) {
	var ve *valid.Error
	if !errors.As(err, &ve) {
		return "", false
	}
	lo, hi := policyBounds(pol)
	var parts []string
	for _, fe := range ve.Fields {
		switch fe.Field {
		case "email":
			if fe.Code == "blocked" {
				parts = append(parts, f.T("signup.email_blocked"))
			} else {
				parts = append(parts, f.T("signup.email_invalid"))
			}
		case "password":
			parts = append(parts, f.T("password."+fe.Code, "min", lo, "max", hi))
		case "accept":
			parts = append(parts, f.T("signup.must_accept"))
		case "purposes":
			parts = append(parts, f.T("consent.signup_required"))
		}
	}
	return strings.Join(parts, " "), true
}

// policyBounds are the lengths the policy enforces (as credential clamps).
func policyBounds(pol credential.Policy) (int, int) {
	lo, hi := max(pol.MinLength, 8), pol.MaxLength
	if hi == 0 {
		hi = credential.DefaultPolicy().MaxLength
	}
	return lo, max(hi, lo)
}

func (p *Pages) signupView(w http.ResponseWriter, r *http.Request, t *store.Tenant) (ssView, bool) {
	pol, pw := selfservice.Policy(t)
	f := ui.FrameFor(r, t, nil, "signup.title")
	switch pol.Signup {
	case tenancy.SignupOpen:
	case tenancy.SignupInviteOnly:
		p.message(w, r, t, http.StatusForbidden, "signup.closed_title", "signup.invite_only_body", "tenant", f.Brand.Name)
		return ssView{}, false
	default:
		p.message(w, r, t, http.StatusForbidden, "signup.closed_title", "signup.closed_body", "tenant", f.Brand.Name)
		return ssView{}, false
	}
	allowScript(w)
	lo, hi := policyBounds(pw)
	pw.MinLength = lo
	id := r.FormValue("id")
	if len(id) > 64 {
		id = ""
	}
	v := ssView{Frame: f, Action: "/t/" + t.Slug + "/signup", CSRF: p.csrf(w, r), RequestID: id,
		Policy: pw, MaxLength: hi, TermsURL: pol.TermsURL, PrivacyURL: pol.PrivacyURL,
		LoginURL: p.loginURL(r, t, id)}
	purposes, ok := p.signupPurposes(w, r, t, f.Lang) // purposes.go
	v.Purposes = purposes
	return v, ok
}

func (p *Pages) signupForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if v, ok := p.signupView(w, r, t); ok {
		p.ssRender(w, http.StatusOK, "signup", v)
	}
}

func (p *Pages) signupSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	v, ok := p.signupView(w, r, t)
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	if len(email) > 254 || len(password) > credential.MaxPasswordBytes {
		email, password = "", ""
	}
	browser, err := p.signupBrowser(r, t)
	if err != nil {
		p.fail(w, r, t, "signup", err)
		return
	}
	ticket, err := p.SelfService.SignUp(risk.WithUserAgent(r.Context(), r.UserAgent()), t, selfservice.SignUp{
		Email: email, Password: password, Accepted: r.PostFormValue("accept") == "yes",
		Honeypot: r.PostFormValue("website"), IP: httpx.ClientIP(r), Lang: v.Lang, Browser: browser,
		UserAgent: r.UserAgent(), Purposes: r.PostForm["purpose"],
	})
	if text, ok := hookText(v.Frame, err); ok { // hooks.go: the pre_registration hook refused
		v.Email, v.ErrorText = email, text
		p.ssRender(w, http.StatusForbidden, "signup", v)
		return
	}
	if text, ok := fieldText(v.Frame, v.Policy, err); ok {
		v.Email, v.ErrorText = email, text
		p.ssRender(w, http.StatusBadRequest, "signup", v)
		return
	}
	if err != nil {
		p.fail(w, r, t, "signup", err)
		return
	}
	// Every accepted sign-up gets the cookie, whether or not the address
	// had an account, so the answer tells nothing.
	p.setSignupBrowserCookie(w, t, browser)
	f := ui.FrameFor(r, t, nil, "signup.check_title")
	p.ssRender(w, http.StatusOK, "code", ssView{Frame: f, Message: f.T("signup.check_body", "email", email),
		Submit: "verify.submit", Action: "/t/" + t.Slug + "/verify", CSRF: p.csrf(w, r),
		RequestID: v.RequestID, Ticket: ticket, Email: email})
}

// verifyLinkForm: a GET changes nothing, so the link's page asks for a
// click (mail scanners that open links do not spend them).
func (p *Pages) verifyLinkForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "verify.title")
	tok := r.URL.Query().Get("token")
	p.ssRender(w, http.StatusOK, "confirm", ssView{Frame: f, Message: f.T("verify.confirm_body"),
		Submit: "verify.submit", Action: "/t/" + t.Slug + "/verify", CSRF: p.csrf(w, r), Token: tok})
}

func (p *Pages) verifySubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx, ip := r.Context(), httpx.ClientIP(r)
	var (
		u   *store.User
		err error
	)
	if tok := r.PostFormValue("token"); tok != "" {
		u, err = p.SelfService.VerifyLink(ctx, t, tok, ip, p.signupBrowserCookie(r, t))
	} else {
		u, err = p.SelfService.VerifyCode(ctx, t, r.PostFormValue("ticket"), r.PostFormValue("code"), ip, p.signupBrowserCookie(r, t))
	}
	switch {
	case errors.Is(err, selfservice.ErrWrongCode):
		f := ui.FrameFor(r, t, nil, "verify.title")
		email := r.PostFormValue("email")
		if len(email) > 254 {
			email = ""
		}
		p.ssRender(w, http.StatusBadRequest, "code", ssView{Frame: f, ErrorText: f.T("verify.wrong_code"),
			Submit: "verify.submit", Action: "/t/" + t.Slug + "/verify", CSRF: p.csrf(w, r),
			RequestID: r.PostFormValue("id"), Ticket: r.PostFormValue("ticket"), Email: email})
	case errors.Is(err, selfservice.ErrInvalidToken):
		p.message(w, r, t, http.StatusBadRequest, "verify.title", "verify.invalid")
	case err != nil:
		p.fail(w, r, t, "verify", err)
	case u.PasswordHash == "":
		// The mailbox's owner proved it elsewhere than the sign-up's
		// browser: the password chosen there is gone.
		p.done(w, r, t, "verify.done_title", "verify.done_no_password", "/t/"+t.Slug+"/password/forgot")
	default:
		p.done(w, r, t, "verify.done_title", "verify.done_body", p.loginURL(r, t, r.PostFormValue("id")))
	}
}

// signupBrowserCookieName names the cookie binding a browser to the
// accounts it signed up in a tenant.
func (p *Pages) signupBrowserCookieName(slug string) string {
	if p.Secure() {
		return "__Host-gh_signup_" + slug
	}
	return "gh_signup_" + slug
}

// signupBrowserCookie reads the browser's sign-up secret for t ("" for
// none or a malformed one).
func (p *Pages) signupBrowserCookie(r *http.Request, t *store.Tenant) string {
	c, err := r.Cookie(p.signupBrowserCookieName(t.Slug))
	if err != nil || !selfservice.ValidBrowserSecret(c.Value) {
		return ""
	}
	return c.Value
}

// signupBrowser is the secret a sign-up binds: the browser's own when it
// has one (it may sign up more than once), else a fresh one.
func (p *Pages) signupBrowser(r *http.Request, t *store.Tenant) (string, error) {
	if v := p.signupBrowserCookie(r, t); v != "" {
		return v, nil
	}
	return selfservice.NewBrowserSecret()
}

func (p *Pages) setSignupBrowserCookie(w http.ResponseWriter, t *store.Tenant, secret string) {
	c := &http.Cookie{Name: p.signupBrowserCookieName(t.Slug), Value: secret, Path: "/", HttpOnly: true,
		Secure: p.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: int(selfservice.BrowserTTL.Seconds())}
	if !p.Secure() {
		c.Path = "/t/" + t.Slug + "/"
	}
	http.SetCookie(w, c)
}

// loginLinks are the self-service links on the login page ("" = hidden).
type loginLinks struct {
	Signup, Forgot, Email string
}

func selfServiceLinks(t *store.Tenant, requestID string) loginLinks {
	pol, _ := selfservice.Policy(t)
	base, q := "/t/"+t.Slug, ""
	if requestID != "" {
		q = "?id=" + url.QueryEscape(requestID)
	}
	l := loginLinks{Forgot: base + "/password/forgot"}
	if pol.Signup == tenancy.SignupOpen {
		l.Signup = base + "/signup" + q
	}
	if pol.Passwordless {
		l.Email = base + "/login/email" + q
	}
	return l
}

// resendVerification mails a fresh verification link after a login that
// was refused only for an unverified email (the password was right).
func (p *Pages) resendVerification(r *http.Request, t *store.Tenant, identifier string) {
	lang := ui.FrameFor(r, t, nil, "").Lang
	if err := p.SelfService.ResendVerification(r.Context(), t, identifier, lang); err != nil {
		p.Log.WarnContext(r.Context(), "web: resend verification", "err", err, "request_id", httpx.RequestID(r.Context()))
	}
}
