package forwardauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// returnRef is a login request's Return: the application and the hash of
// the browser's state cookie.
func returnRef(appID string, stateHash []byte) string {
	return appID + "." + base64.RawURLEncoding.EncodeToString(stateHash)
}

func parseRef(ref string) (appID string, stateHash []byte, ok bool) {
	appID, enc, ok := strings.Cut(ref, ".")
	if !ok {
		return "", nil, false
	}
	stateHash, err := base64.RawURLEncoding.DecodeString(enc)
	return appID, stateHash, err == nil && len(stateHash) == 32
}

// Return is where a finished forward-auth login goes: continue, on
// Gatehouse's own domain, where the session cookie is.
func (h *Handler) Return(t *store.Tenant, req *store.LoginRequest) string {
	return "/t/" + url.PathEscape(t.Slug) + "/forward-auth/continue?id=" + url.QueryEscape(req.ID)
}

// Deny ends a refused sign-in with Gatehouse's error page: the
// application never sees a half-finished login.
func (h *Handler) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, _, _ string) {
	h.Flow.Drop(r.Context(), t.ID, req.ID)
	h.errorPage(w, r, t, http.StatusForbidden, "forward_auth.denied")
}

// continueLogin takes the done login for the browser's session, checks
// that the user may use the application and sends the browser to the
// application's callback with a single-use code.
func (h *Handler) continueLogin(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	sess, err := h.Sessions.Lookup(ctx, t.ID, cookieValue(r, h.SessionCookie(t.Slug)))
	if err != nil {
		h.errorPage(w, r, t, http.StatusBadRequest, "error.other_browser")
		return
	}
	login, err := h.Flow.Take(ctx, t.ID, r.URL.Query().Get("id"), sess.ID)
	if err != nil || login.Origin != flow.OriginForwardAuth {
		h.errorPage(w, r, t, http.StatusBadRequest, "error.request_invalid")
		return
	}
	appID, stateHash, ok := parseRef(login.Return)
	if !ok {
		h.errorPage(w, r, t, http.StatusBadRequest, "error.request_invalid")
		return
	}
	app, err := h.Apps.Get(ctx, t.ID, appID)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, t, http.StatusNotFound, "forward_auth.unknown_app")
		return
	}
	if err != nil {
		h.fail(w, r, t, err)
		return
	}
	rd, ok := proxyapp.ReturnURL(app.Domains, login.ReturnURI)
	if !ok {
		h.errorPage(w, r, t, http.StatusBadRequest, "forward_auth.bad_return")
		return
	}
	if _, err := h.Apps.Admit(ctx, app, sess); err != nil {
		if errors.Is(err, proxyapp.ErrDenied) || errors.Is(err, proxyapp.ErrStepUp) {
			h.errorPage(w, r, t, http.StatusForbidden, "forward_auth.denied")
			return
		}
		h.fail(w, r, t, err)
		return
	}
	code, err := h.Apps.IssueCode(ctx, app, sess, rd, stateHash)
	if err != nil {
		h.fail(w, r, t, err)
		return
	}
	u, _ := url.Parse(rd)
	http.Redirect(w, r, u.Scheme+"://"+u.Host+"/t/"+url.PathEscape(t.Slug)+"/forward-auth/callback?code="+
		url.QueryEscape(code), http.StatusSeeOther)
}

// callback runs on the application's domain: it redeems the code for the
// browser that started the sign-in, sets the application's cookie and
// returns the browser to the URL it first asked for.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	app, ok := h.appOfHost(w, r, t)
	if !ok {
		return
	}
	https := viaHTTPS(r)
	prefix := stateCookie(t.Slug, https)
	token, rd, expires, err := h.Apps.Redeem(ctx, app, r.URL.Query().Get("code"), states(r, prefix))
	if errors.Is(err, proxyapp.ErrNoAccess) {
		h.errorPage(w, r, t, http.StatusBadRequest, "forward_auth.expired")
		return
	}
	if err != nil {
		h.fail(w, r, t, err)
		return
	}
	if back, ok := proxyapp.ReturnURL(app.Domains, rd); !ok || proxyapp.HostOnly(mustHost(back)) != proxyapp.HostOnly(r.Host) {
		_ = h.Apps.End(ctx, t.ID, token)
		h.errorPage(w, r, t, http.StatusBadRequest, "forward_auth.bad_return")
		return
	}
	https = strings.HasPrefix(rd, "https://")
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: "/", HttpOnly: true,
				Secure: https, SameSite: http.SameSiteLaxMode, MaxAge: -1})
		}
	}
	http.SetCookie(w, &http.Cookie{Name: appCookie(t.Slug, https), Value: token, Path: "/", HttpOnly: true,
		Secure: https, SameSite: http.SameSiteLaxMode, MaxAge: int(time.Until(expires) / time.Second)})
	http.Redirect(w, r, rd, http.StatusSeeOther)
}

// logout, on the application's domain, ends the application's session
// and the Gatehouse session it came from, and clears the cookie. It is a
// POST: a cross-site form carries no SameSite=Lax cookie, and a form of
// another origin is refused by its Origin header.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	// A form of another host of the same site (which SameSite=Lax lets
	// the cookie go with) may not sign the user out.
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			h.errorPage(w, r, t, http.StatusForbidden, "error.generic")
			return
		}
	}
	app, ok := h.appOfHost(w, r, t)
	if !ok {
		return
	}
	https := viaHTTPS(r)
	name := appCookie(t.Slug, https)
	if err := h.Apps.SignOut(ctx, app, cookieValue(r, name)); err != nil {
		h.fail(w, r, t, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: https,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	h.errorPage(w, r, t, http.StatusOK, "forward_auth.signed_out")
}
