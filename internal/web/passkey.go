package web

// Passkeys on the hosted pages: JSON endpoints the small script
// (mfaassets/passkey.js, no inline script) calls around
// navigator.credentials. Every call is a posted form with the CSRF token
// (and Origin check); ceremonies are tickets held by internal/mfa.

import (
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

//go:embed mfaassets/passkey.js
var mfaAssets embed.FS

func (p *Pages) mountPasskeys(mux *http.ServeMux) {
	mux.HandleFunc("GET /assets/passkey.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, mfaAssets, "mfaassets/passkey.js")
	})
	mux.HandleFunc("POST /t/{tenant}/login/passkey/begin", p.page(p.passkeyLoginBegin))
	mux.HandleFunc("POST /t/{tenant}/login/passkey/finish", p.page(p.passkeyLoginFinish))
	if p.Account != nil {
		mux.HandleFunc("POST /t/{tenant}/account/mfa/passkey/begin", p.accountAction(p.passkeyRegisterBegin))
		mux.HandleFunc("POST /t/{tenant}/account/mfa/passkey/finish", p.accountAction(p.passkeyRegisterFinish))
	}
}

// allowPasskeyScript lets a page load our own scripts and call our own
// endpoints (the passkey script fetches its ceremonies).
func allowPasskeyScript(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
		"default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';", 1))
}

type passkeyBox struct {
	Mode, Begin, Finish, CSRF, RequestID, Error string
	// Proof adds the current-password or current-code field to a
	// registration (mfa_reauth.go).
	Proof string
}

// jsonError answers the script with a translated message.
func jsonError(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, key string) {
	f := ui.FrameFor(r, t, nil, "login.title")
	httpx.WriteJSON(w, status, map[string]string{"error": f.T(key)})
}

// passkeyRequest reads a posted passkey form of a login and its request.
func (p *Pages) passkeyRequest(w http.ResponseWriter, r *http.Request, t *store.Tenant) (*store.LoginRequest, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 96<<10)
	if err := r.ParseForm(); err != nil || !p.checkCSRF(r) {
		jsonError(w, r, t, http.StatusForbidden, "error.form_expired")
		return nil, false
	}
	if r.PostFormValue("id") == "" && r.PostFormValue("mode") == "second" {
		return &store.LoginRequest{}, true // the account page's sign-in: no request
	}
	ar, err := p.Flow.Load(r.Context(), t.ID, r.PostFormValue("id"))
	if err != nil {
		jsonError(w, r, t, http.StatusBadRequest, "error.request_unknown")
		return nil, false
	}
	return ar, true
}

func (p *Pages) passkeyLoginBegin(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.passkeyRequest(w, r, t)
	if !ok {
		return
	}
	userID := ""
	if r.PostFormValue("mode") == "second" {
		var err error
		if userID, err = p.Flow.PendingRequest(r.Context(), t.ID, ar.ID, p.mfaTicket(r, t)); err != nil {
			jsonError(w, r, t, http.StatusBadRequest, "error.request_gone")
			return
		}
	}
	ticket, opts, err := p.MFA.BeginPasskeyLogin(r.Context(), t, userID)
	if errors.Is(err, mfa.ErrNoFactor) {
		jsonError(w, r, t, http.StatusBadRequest, "mfa.passkey_failed")
		return
	}
	if err != nil {
		p.passkeyFail(w, r, t, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"ticket": ticket, "options": json.RawMessage(opts)})
}

func (p *Pages) passkeyLoginFinish(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	ar, ok := p.passkeyRequest(w, r, t)
	if !ok {
		return
	}
	second := r.PostFormValue("mode") == "second"
	userID := ""
	if second {
		var err error
		if userID, err = p.Flow.PendingRequest(ctx, t.ID, ar.ID, p.mfaTicket(r, t)); err != nil {
			jsonError(w, r, t, http.StatusBadRequest, "error.request_gone")
			return
		}
	}
	pk, err := p.MFA.FinishPasskeyLogin(ctx, t, userID, r.PostFormValue("ticket"), strings.NewReader(r.PostFormValue("credential")))
	if errors.Is(err, mfa.ErrPasskey) {
		jsonError(w, r, t, http.StatusUnauthorized, "mfa.passkey_failed")
		return
	}
	if err != nil {
		p.passkeyFail(w, r, t, err)
		return
	}
	var (
		token string
		sess  *store.Session
	)
	if second {
		sess, token, err = p.Flow.FinishSecondFactor(ctx, t.ID, ar.ID, p.mfaTicket(r, t), pk.AMR, httpx.ClientIP(r), r.UserAgent())
	} else {
		ctx = flow.WithRememberToken(ctx, p.rememberCookie(r, t)) // mfa.go
		sess, token, err = p.Flow.PasskeyLogin(ctx, t.ID, ar.ID, pk, httpx.ClientIP(r), r.UserAgent())
	}
	var sf *flow.SecondFactorError
	switch {
	case errors.As(err, &sf):
		p.setMFACookie(w, t, sf.Token, 600)
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"redirect": "/t/" + t.Slug + "/login/mfa?id=" + ar.ID})
		return
	case errors.Is(err, flow.ErrMFAUnmet):
		jsonError(w, r, t, http.StatusForbidden, "mfa.unmet")
		return
	case errors.Is(err, flow.ErrInvalidCredentials), errors.Is(err, flow.ErrUnverified):
		jsonError(w, r, t, http.StatusUnauthorized, "mfa.passkey_failed")
		return
	case errors.Is(err, flow.ErrRequestGone):
		jsonError(w, r, t, http.StatusBadRequest, "error.request_gone")
		return
	case errors.Is(err, tenancy.ErrMAULimit):
		jsonError(w, r, t, http.StatusForbidden, "login.mau_limit")
		return
	case waitingStep(t, ar.ID, err) != "": // signed in; a step after the session waits
	case err != nil:
		p.passkeyFail(w, r, t, err)
		return
	}
	if second {
		p.setMFACookie(w, t, "", -1)
		p.rememberDevice(w, r, t, sess)
	}
	p.setSessionCookie(w, r, t, token)
	next := p.returnURL(t, ar)
	if step := waitingStep(t, ar.ID, err); step != "" {
		next = step
	}
	if ar.ID == "" {
		next = "/t/" + t.Slug + "/account"
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

func (p *Pages) passkeyFail(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	if text, ok := hookText(ui.FrameFor(r, t, nil, "login.title"), err); ok { // hooks.go
		httpx.WriteJSON(w, http.StatusForbidden, map[string]string{"error": text})
		return
	}
	p.Log.ErrorContext(r.Context(), "web: passkey", "err", err, "request_id", httpx.RequestID(r.Context()))
	jsonError(w, r, t, http.StatusInternalServerError, "error.generic")
}

func (p *Pages) passkeyRegisterBegin(a *accountReq) {
	if !p.mfaProven(a, true) { // mfa_reauth.go
		return
	}
	u, err := p.Store.Users().GetUser(a.r.Context(), a.t.ID, a.sess.UserID)
	if err != nil {
		p.passkeyFail(a.w, a.r, a.t, err)
		return
	}
	ticket, opts, err := p.MFA.BeginPasskeyRegistration(a.r.Context(), a.t, u)
	if err != nil {
		p.passkeyFail(a.w, a.r, a.t, err)
		return
	}
	httpx.WriteJSON(a.w, http.StatusOK, map[string]any{"ticket": ticket, "options": json.RawMessage(opts)})
}

// passkeyRegisterFinish needs no proof of its own: the ceremony's ticket
// was issued after it (passkeyRegisterBegin) and is bound to the user.
func (p *Pages) passkeyRegisterFinish(a *accountReq) {
	ctx := a.r.Context()
	u, err := p.Store.Users().GetUser(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		p.passkeyFail(a.w, a.r, a.t, err)
		return
	}
	err = p.MFA.FinishPasskeyRegistration(ctx, a.actor(), a.t, u, a.r.PostFormValue("ticket"), a.r.PostFormValue("name"),
		strings.NewReader(a.r.PostFormValue("credential")))
	if errors.Is(err, mfa.ErrPasskey) {
		jsonError(a.w, a.r, a.t, http.StatusBadRequest, "mfa.passkey_failed")
		return
	}
	if err != nil {
		p.passkeyFail(a.w, a.r, a.t, err)
		return
	}
	httpx.WriteJSON(a.w, http.StatusOK, map[string]string{"redirect": "/t/" + a.t.Slug + "/account/mfa?done=added&ui_locales=" + a.f.Lang})
}

// passkeyLoginBox offers passkeys on a login step (mode first or second)
// and lets the page run the script; nil when passkeys are not wired.
func (p *Pages) passkeyLoginBox(w http.ResponseWriter, t *store.Tenant, mode string, v view) *passkeyBox {
	if p.MFA == nil {
		return nil
	}
	allowPasskeyScript(w)
	base := "/t/" + t.Slug + "/login/passkey/"
	return &passkeyBox{Mode: mode, Begin: base + "begin", Finish: base + "finish", CSRF: v.CSRF, RequestID: v.RequestID,
		Error: v.T("mfa.passkey_failed")}
}
