package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// passwordError shows the page again for a failed password check: 401
// for a wrong password, 429 with Retry-After when throttled, 403 for a
// change a federating directory owns. It reports whether err was one of
// those.
func (p *Pages) passwordError(a *accountReq, err error) bool {
	var throttled *flow.ThrottledError
	switch {
	case errors.As(err, &throttled):
		a.w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		p.showAccount(a, http.StatusTooManyRequests, "", a.f.T("login.throttled"))
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.showAccount(a, http.StatusUnauthorized, "", a.f.T("account.err_password"))
	case errors.Is(err, account.ErrDirectoryOwned):
		p.showAccount(a, http.StatusForbidden, "", a.f.T("account.err_directory_owned"))
	case errors.Is(err, privacy.ErrHold):
		p.showAccount(a, http.StatusConflict, "", a.f.T("privacy.err_hold"))
	default:
		return false
	}
	return true
}

// mauLimit answers a sign-in the tenant's plan refuses (a hard monthly
// active user limit, reached, for a user not yet active this month) with
// a page saying so; it reports whether err was that.
func (p *Pages) mauLimit(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	if !errors.Is(err, tenancy.ErrMAULimit) {
		return false
	}
	p.message(w, r, t, http.StatusForbidden, "error.title", "login.mau_limit")
	return true
}

func fieldCode(err error) (field, code string, ok bool) {
	var ve *valid.Error
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		return ve.Fields[0].Field, ve.Fields[0].Code, true
	}
	return "", "", false
}

// accountResult ends an action: 404 with the page for ErrNotYours, a
// failure page for another error, else back to the page with notice done.
func (p *Pages) accountResult(a *accountReq, err error, done string) {
	switch {
	case errors.Is(err, account.ErrNotYours):
		p.showAccount(a, http.StatusNotFound, "", a.f.T("account.err_not_found"))
	case err != nil:
		p.accountFail(a, err)
	default:
		http.Redirect(a.w, a.r, a.pageURL(done), http.StatusSeeOther)
	}
}

// accountProfile: POST .../account/profile (names and attr_* fields).
func (p *Pages) accountProfile(a *accountReq) {
	in := account.ProfileInput{GivenName: a.r.PostForm.Get("given_name"), FamilyName: a.r.PostForm.Get("family_name"),
		Attributes: map[string]string{}}
	for k, vs := range a.r.PostForm {
		if name, ok := strings.CutPrefix(k, "attr_"); ok && len(vs) > 0 {
			in.Attributes[name] = vs[0]
		}
	}
	_, err := p.Account.UpdateProfile(a.r.Context(), a.actor(), a.t, a.sess.UserID, in)
	if p.passwordError(a, err) {
		return
	}
	if field, _, ok := fieldCode(err); ok {
		msg := a.f.T("account.err_profile")
		if label, ok := profileLabel(a.t, field, a.f.Lang); ok { // profile.go: name the schema field
			msg = a.f.T("profile.account_invalid", "field", label)
		}
		p.showAccount(a, http.StatusBadRequest, "", msg)
		return
	}
	p.accountResult(a, err, "profile")
}

// accountEmail: POST .../account/email (email, password).
func (p *Pages) accountEmail(a *accountReq) {
	if !p.emailChangeProven(a) { // mfa_reauth.go
		return
	}
	err := p.Account.StartEmailChange(a.r.Context(), a.actor(), a.t, a.sess.UserID,
		strings.TrimSpace(a.r.PostForm.Get("email")), a.r.PostForm.Get("password"), a.f.Lang)
	if p.passwordError(a, err) {
		return
	}
	if _, code, ok := fieldCode(err); ok {
		msg := "account.err_email_invalid"
		if code == "unchanged" {
			msg = "account.err_email_same"
		}
		p.showAccount(a, http.StatusBadRequest, "", a.f.T(msg))
		return
	}
	p.accountResult(a, err, "email")
}

// accountPassword: POST .../account/password (current_password,
// new_password). Every session ends; this browser gets a fresh one.
func (p *Pages) accountPassword(a *accountReq) {
	token, err := p.Account.ChangePassword(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID,
		a.r.PostForm.Get("current_password"), a.r.PostForm.Get("new_password"), a.r.UserAgent())
	err = p.noticeFailed(a.r, err)
	if p.passwordError(a, err) {
		return
	}
	if _, code, ok := fieldCode(err); ok && code == directory.ReasonBreached {
		p.showAccount(a, http.StatusBadRequest, "", a.f.T("password.breached"))
		return
	}
	if _, _, ok := fieldCode(err); ok {
		set, _ := tenancy.ParseSettings(a.t.Settings)
		p.showAccount(a, http.StatusBadRequest, "", a.f.T("account.err_new_password", "min", set.PasswordPolicy.MinLength))
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.setSessionCookie(a.w, a.r, a.t, token)
	http.Redirect(a.w, a.r, a.pageURL("password"), http.StatusSeeOther)
}

// accountEndSession: POST .../account/sessions/end (session_id).
func (p *Pages) accountEndSession(a *accountReq) {
	id := a.r.PostForm.Get("session_id")
	err := p.Account.EndSession(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, id)
	if err == nil && id == a.sess.ID {
		p.clearSessionCookie(a.w, a.t)
		http.Redirect(a.w, a.r, p.accountLoginURL(a.t, a.f.Lang), http.StatusSeeOther)
		return
	}
	p.accountResult(a, err, "session")
}

// accountRevokeApp: POST .../account/apps/revoke (client_id).
func (p *Pages) accountRevokeApp(a *accountReq) {
	err := p.Account.RevokeApp(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, a.r.PostForm.Get("client_id"))
	p.accountResult(a, err, "app")
}

// accountRevokeGrant: POST .../account/grants/revoke (grant_id).
func (p *Pages) accountRevokeGrant(a *accountReq) {
	err := p.Account.RevokeGrant(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, a.r.PostForm.Get("grant_id"))
	p.accountResult(a, err, "grant")
}

// accountExport: POST .../account/export answers the JSON download.
func (p *Pages) accountExport(a *accountReq) {
	out, err := p.Account.Export(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	h := a.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="account-data.json"`)
	enc := json.NewEncoder(a.w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		p.Log.ErrorContext(a.r.Context(), "web: account export", "err", err)
	}
}

// accountDelete: POST .../account/delete (password re-entered).
func (p *Pages) accountDelete(a *accountReq) {
	err := p.Account.Delete(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, a.r.PostForm.Get("password"))
	if p.passwordError(a, err) {
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.clearSessionCookie(a.w, a.t)
	p.message(a.w, a.r, a.t, http.StatusOK, "account.deleted_title", "account.deleted_body")
}

// accountLoginForm: GET .../account/login, the sign-in of the account
// page itself (no application behind it); it returns to the page.
func (p *Pages) accountLoginForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if p.currentSession(r.Context(), r, t) != nil {
		http.Redirect(w, r, "/t/"+t.Slug+"/account", http.StatusFound)
		return
	}
	p.showAccountLogin(w, r, t, http.StatusOK, "", "")
}

func (p *Pages) showAccountLogin(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, msg, identifier string) {
	p.showAccountLoginWith(w, r, t, status, msg, identifier, nil)
}

// showAccountLoginWith is showAccountLogin whose form solves ch first.
func (p *Pages) showAccountLoginWith(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, msg, identifier string, ch *challengeBox) {
	v := view{Frame: ui.FrameFor(r, t, nil, "login.title"), Error: msg,
		Action: "/t/" + t.Slug + "/account/login", CSRF: p.csrf(w, r), Identifier: identifier,
		Links: selfServiceLinks(t, ""), Challenge: ch}
	v.Announcements, v.Back = p.loginAnnouncements(r, t, v.Lang), r.URL.RequestURI()
	p.render(w, status, "login", v)
}

// accountLoginSubmit: POST .../account/login, throttled like every login.
func (p *Pages) accountLoginSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "error.title") {
		return
	}
	identifier := strings.TrimSpace(r.PostFormValue("identifier"))
	password := r.PostFormValue("password")
	if identifier == "" || password == "" || len(identifier) > 254 || len(password) > 1024 {
		p.showAccountLogin(w, r, t, http.StatusBadRequest, "login.missing", identifier)
		return
	}
	_, token, err := p.Flow.SignIn(p.passwordContext(r, t), t.ID, identifier, password, httpx.ClientIP(r), r.UserAgent())
	if ch, msg, ok := throttleAnswer(w, err); ok { // throttle.go
		p.showAccountLoginWith(w, r, t, http.StatusTooManyRequests, msg, identifier, ch)
		return
	}
	switch {
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.showAccountLogin(w, r, t, http.StatusUnauthorized, "login.invalid", identifier)
		return
	case p.toAccountSecondFactor(w, r, t, err): // mfa_account_login.go
		return
	case p.riskBlocked(w, r, t, err): // risk.go
		return
	case errors.Is(err, flow.ErrUnverified): // the password was right (selfservice)
		p.resendVerification(r, t, identifier)
		p.showAccountLogin(w, r, t, http.StatusForbidden, "login.unverified", identifier)
		return
	case p.mauLimit(w, r, t, err):
		return
	case p.hookDenied(w, r, t, err): // hooks.go
		return
	case err != nil:
		p.Log.ErrorContext(r.Context(), "web: account login", "err", err, "request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
		return
	}
	p.setSessionCookie(w, r, t, token)
	lang := ui.FrameFor(r, t, nil, "").Lang
	http.Redirect(w, r, "/t/"+t.Slug+"/account?ui_locales="+lang, http.StatusSeeOther)
}

// accountEmailForm: GET .../account/email/confirm?token=... asks the user
// to confirm (a GET changes nothing: link scanners in mail systems
// follow links).
func (p *Pages) accountEmailForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 128 {
		p.message(w, r, t, http.StatusBadRequest, "account.email_confirm_title", "account.email_bad_link")
		return
	}
	f := ui.FrameFor(r, t, nil, "account.email_confirm_title")
	accountPages["account_email"].Render(w, p.Log, http.StatusOK, f.Lang, struct {
		ui.Frame
		Action, CSRF, Token string
	}{f, "/t/" + t.Slug + "/account/email/confirm", p.csrf(w, r), token})
}

// accountEmailConfirm: POST .../account/email/confirm spends the link.
func (p *Pages) accountEmailConfirm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "account.email_confirm_title") {
		return
	}
	u, err := p.Account.ConfirmEmailChange(r.Context(), httpx.ClientIP(r), httpx.RequestID(r.Context()), t.ID, r.PostForm.Get("token"))
	err = p.noticeFailed(r, err)
	switch {
	case errors.Is(err, account.ErrBadLink):
		p.message(w, r, t, http.StatusBadRequest, "account.email_confirm_title", "account.email_bad_link")
	case errors.Is(err, account.ErrEmailTaken):
		p.message(w, r, t, http.StatusConflict, "account.email_confirm_title", "account.email_taken")
	case err != nil:
		p.Log.ErrorContext(r.Context(), "web: email confirm", "err", err, "request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "account.email_confirm_title", "error.generic")
	default:
		p.message(w, r, t, http.StatusOK, "account.email_changed_title", "account.email_changed_body", "email", u.Email)
	}
}
