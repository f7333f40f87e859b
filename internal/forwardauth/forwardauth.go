// Package forwardauth serves forward authentication for applications
// behind a reverse proxy (nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth): the check the proxy makes on every request, the start of
// a sign-in on the application's domain, the flow origin that hands a
// finished login back, and the callback on the application's domain that
// sets the application's cookie. Logins run through internal/flow like
// every other way in.
package forwardauth

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// loginTTL bounds a sign-in started for an application.
const loginTTL = 10 * time.Minute

//go:embed templates/*.html
var pageFS embed.FS

var errorPg = ui.Parse(pageFS, "templates/error.html")

// Handler serves a tenant's forward authentication.
type Handler struct {
	Flow     *flow.Service
	Sessions *session.Service
	Apps     *proxyapp.Service
	Log      *slog.Logger
	// PublicURL is Gatehouse's own base URL (the hosted login).
	PublicURL string
	// SessionCookie names Gatehouse's session cookie of a tenant.
	SessionCookie func(slug string) string
	// Keys opens the tenant's signing keys for the identity token.
	Keys *keys.Manager
	// Store reads the tenant's signing keys.
	Store store.Store

	signer tokenSigner
	once   sync.Once
}

var _ web.Origin = (*Handler)(nil)

// Mount registers the routes. The proxy passes /t/{tenant}/forward-auth/
// on each application's domain to Gatehouse, so start, callback and
// logout are served on the application's host; continue is served on
// Gatehouse's own.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/forward-auth", h.tenant(h.check))
	mux.HandleFunc("GET /t/{tenant}/forward-auth/start", h.tenant(h.start))
	mux.HandleFunc("GET /t/{tenant}/forward-auth/continue", h.tenant(h.continueLogin))
	mux.HandleFunc("GET /t/{tenant}/forward-auth/callback", h.tenant(h.callback))
	mux.HandleFunc("POST /t/{tenant}/forward-auth/logout", h.tenant(h.logout))
}

type handler func(w http.ResponseWriter, r *http.Request, t *store.Tenant)

func (h *Handler) tenant(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := httpx.Tenant(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<14)
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		fn(w, r, t)
	}
}

// errorPage answers a translated error page; msgKey is a catalog key.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, msgKey string) {
	f := ui.FrameFor(r, t, nil, "error.title")
	ui.SetHeaders(w, f.Brand)
	errorPg.Render(w, h.Log, status, f.Lang, struct {
		ui.Frame
		Message string
	}{f, msgKey})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	h.Log.ErrorContext(r.Context(), "forward-auth: internal error", "err", err, "request_id", httpx.RequestID(r.Context()))
	h.errorPage(w, r, t, http.StatusInternalServerError, "error.generic")
}

// appCookie names the application's cookie: host-only under https.
func appCookie(slug string, https bool) string {
	if https {
		return "__Host-gh_fa_" + slug
	}
	return "gh_fa_" + slug
}

// stateCookie is the name prefix of the cookies that bind a sign-in to
// the browser that started it on the application's domain. Each sign-in
// has its own (a page and its favicon may start two at once); they last
// as long as a sign-in may.
func stateCookie(slug string, https bool) string {
	if https {
		return "__Host-gh_fastate_" + slug + "_"
	}
	return "gh_fastate_" + slug + "_"
}

// states answers the values of the request's state cookies.
func states(r *http.Request, prefix string) []string {
	var out []string
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, c.Value)
		}
	}
	return out
}

func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// original is the URL of the request the proxy asks about: X-Original-URL
// (nginx) or X-Forwarded-Proto, -Host and -Uri (Traefik, Caddy). nginx
// reports whether it came from nginx, which wants 401 rather than a redirect.
func original(r *http.Request) (raw string, nginx bool) {
	if v := r.Header.Get("X-Original-URL"); v != "" {
		return v, true
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto != "https" {
		proto = "http"
	}
	host := r.Header.Get("X-Forwarded-Host")
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" || uri[0] != '/' {
		uri = "/"
	}
	return proto + "://" + host + uri, false
}

// hostOf is the host of a raw URL, "" when it does not parse.
func hostOf(raw string) (host string, https bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	return u.Host, u.Scheme == "https"
}

// check answers the proxy: 200 with the identity headers, 403 when the
// user may not use the application (or the host is no application's),
// else a sign-in: 401 with Location for nginx, a 302 for the others.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	raw, nginx := original(r)
	host, https := hostOf(raw)
	app, err := h.Apps.ForHost(ctx, t.ID, host)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "forward-auth: app lookup", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	id, err := h.Apps.Check(ctx, app, cookieValue(r, appCookie(t.Slug, https)))
	switch {
	case err == nil:
		if name := app.Headers["jwt"]; name != "" {
			h.once.Do(func() { h.signer = tokenSigner{Store: h.Store, Keys: h.Keys} })
			tok, err := h.signer.sign(ctx, h.PublicURL+"/t/"+t.Slug, app, id)
			if err != nil {
				h.Log.ErrorContext(ctx, "forward-auth: identity token", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			if http.CanonicalHeaderKey(name) == "Authorization" {
				tok = "Bearer " + tok
			}
			w.Header().Set(name, tok)
		}
		writeIdentity(w, app, id)
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, proxyapp.ErrDenied):
		http.Error(w, "forbidden", http.StatusForbidden)
	case errors.Is(err, proxyapp.ErrNoAccess), errors.Is(err, proxyapp.ErrStepUp):
		rd, ok := proxyapp.ReturnURL(app.Domains, raw)
		if !ok {
			rd = "http://" + proxyapp.HostOnly(host) + "/"
			if https {
				rd = "https://" + proxyapp.HostOnly(host) + "/"
			}
		}
		u, _ := url.Parse(rd)
		loc := u.Scheme + "://" + u.Host + "/t/" + url.PathEscape(t.Slug) + "/forward-auth/start?rd=" + url.QueryEscape(rd)
		w.Header().Set("Location", loc)
		if nginx {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusFound)
	default:
		h.Log.ErrorContext(ctx, "forward-auth: check", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// writeIdentity sets the identity headers, under the names app chose.
func writeIdentity(w http.ResponseWriter, app *store.ProxyApp, id *proxyapp.Identity) {
	name := func(k string) string {
		if v := app.Headers[k]; v != "" {
			return v
		}
		return proxyapp.DefaultHeaders[k]
	}
	pref := preferredUsername(id.User)
	hd := w.Header()
	hd.Set(name("user"), id.User.ID)
	hd.Set(name("email"), id.User.Email)
	hd.Set(name("groups"), strings.Join(id.Groups, ","))
	hd.Set(name("roles"), strings.Join(id.Roles, ","))
	hd.Set(name("preferred_username"), pref)
}

// start begins a sign-in on the application's domain: it checks the
// return URL against the application of this host, sets the state cookie
// on that host and sends the browser to the hosted login through the flow.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	app, ok := h.appOfHost(w, r, t)
	if !ok {
		return
	}
	rd, ok := proxyapp.ReturnURL(app.Domains, r.URL.Query().Get("rd"))
	if !ok || proxyapp.HostOnly(mustHost(rd)) != proxyapp.HostOnly(r.Host) {
		h.errorPage(w, r, t, http.StatusBadRequest, "forward_auth.bad_return")
		return
	}
	state, stateHash, err := proxyapp.NewBrowserState()
	if err != nil {
		h.fail(w, r, t, err)
		return
	}
	https := strings.HasPrefix(rd, "https://")
	req := &store.LoginRequest{Tenant: t.ID, Origin: flow.OriginForwardAuth, Return: returnRef(app.ID, stateHash),
		ReturnURI: rd, ExpiresAt: time.Now().Add(loginTTL)}
	if app.MFA == proxyapp.MFARequired {
		req.ACRValues = []string{mfa.ACRMFA}
	}
	if err := h.Flow.Start(ctx, req); err != nil {
		h.fail(w, r, t, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie(t.Slug, https) + state[len(state)-8:], Value: state, Path: "/", HttpOnly: true,
		Secure: https, SameSite: http.SameSiteLaxMode, MaxAge: int(loginTTL / time.Second)})
	http.Redirect(w, r, h.PublicURL+"/t/"+url.PathEscape(t.Slug)+"/login?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
}

// appOfHost answers the application of the request's host (a request
// the proxy passed on from the application's domain); otherwise it has
// answered the browser.
func (h *Handler) appOfHost(w http.ResponseWriter, r *http.Request, t *store.Tenant) (*store.ProxyApp, bool) {
	app, err := h.Apps.ForHost(r.Context(), t.ID, r.Host)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, t, http.StatusNotFound, "forward_auth.unknown_app")
		return nil, false
	}
	if err != nil {
		h.fail(w, r, t, err)
		return nil, false
	}
	return app, true
}

// viaHTTPS reports whether the browser's request came over https, to the
// proxy or to Gatehouse.
func viaHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func mustHost(raw string) string {
	h, _ := hostOf(raw)
	return h
}
