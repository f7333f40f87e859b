package web

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// What the login pages add to the password throttle (flow/throttle.go):
// the device cookie, given at every sign-in and handed back to the flow
// with every password, and the challenge a page shows instead of a hard
// lock, solved by loginassets/challenge.js.

//go:embed loginassets/challenge.js
var loginAssets embed.FS

func (p *Pages) mountThrottle(mux *http.ServeMux) {
	mux.HandleFunc("GET /assets/challenge.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, loginAssets, "loginassets/challenge.js")
	})
}

// DeviceCookieName names the device cookie of a tenant: host-only under
// https, like the session cookie.
func (p *Pages) DeviceCookieName(slug string) string {
	if p.Secure() {
		return "__Host-gh_device_" + slug
	}
	return "gh_device_" + slug
}

// passwordContext carries what the flow's password check reads from the
// browser: its device cookie and a solved challenge from the form.
func (p *Pages) passwordContext(r *http.Request, t *store.Tenant) context.Context {
	ctx := r.Context()
	if c, err := r.Cookie(p.DeviceCookieName(t.Slug)); err == nil {
		ctx = flow.WithDeviceCookie(ctx, c.Value)
	}
	return flow.WithChallengeAnswer(ctx, r.PostFormValue("challenge"), r.PostFormValue("pow"))
}

// recognizeDevice records the sign-in that just gave the browser token as
// its session: its network becomes known, and the browser gets (or
// keeps) its device cookie. Failures are logged: the sign-in stands.
func (p *Pages) recognizeDevice(w http.ResponseWriter, r *http.Request, t *store.Tenant, token string) {
	ctx := r.Context()
	sess, err := p.Sessions.Lookup(ctx, t.ID, token)
	if err != nil {
		return
	}
	if c, err := r.Cookie(p.DeviceCookieName(t.Slug)); err == nil {
		ctx = flow.WithDeviceCookie(ctx, c.Value)
	}
	ctx = risk.WithUserAgent(ctx, r.UserAgent()) // the risk engine's sign-in history
	value, err := p.Flow.RecognizeSource(ctx, t.ID, sess.UserID, httpx.ClientIP(r))
	if err != nil {
		httpx.LogFailure(ctx, p.Log, "web: recognise device", err, "request_id", httpx.RequestID(ctx))
		return
	}
	if value == "" {
		return
	}
	p.tenantCookie(w, t, p.DeviceCookieName(t.Slug), value, int(flow.DeviceLifetime.Seconds()))
}

// challengeBox is a login form's challenge: the form carries it, the
// script (allowed by Nonce) solves it.
type challengeBox struct {
	Value string
	Bits  int
	Nonce string
}

// throttleAnswer turns a throttle error of the password check into the
// page's answer: a challenge to show (with 429), or a wait (429 and
// Retry-After). ok is false for any other error.
func throttleAnswer(w http.ResponseWriter, err error) (box *challengeBox, msg string, ok bool) {
	var (
		challenge *flow.ChallengeError
		throttled *flow.ThrottledError
	)
	switch {
	case errors.As(err, &challenge):
		return &challengeBox{Value: challenge.Challenge, Bits: challenge.Bits, Nonce: allowNonceScript(w)}, "login.challenge", true
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		return nil, "login.throttled", true
	}
	return nil, "", false
}

// allowNonceScript lets the page run the scripts that carry the nonce it
// answers (the challenge solver), and nothing inline.
func allowNonceScript(w http.ResponseWriter) string {
	raw := make([]byte, 18)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported platforms
	nonce := base64.RawURLEncoding.EncodeToString(raw)
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if strings.Contains(csp, "script-src ") {
		csp = strings.Replace(csp, "script-src ", "script-src 'nonce-"+nonce+"' ", 1)
	} else {
		csp = strings.Replace(csp, "default-src 'none';", "default-src 'none'; script-src 'nonce-"+nonce+"';", 1)
	}
	h.Set("Content-Security-Policy", csp)
	return nonce
}
