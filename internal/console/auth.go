package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// maxForm bounds a console form (a profile with attributes is the largest).
const maxForm = 64 << 10

// setHeaders sets what every console answer carries: no framing, a CSP
// allowing only our own styles, scripts and images, no caching.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// managed resolves the tenant a console URL is about: /t/{tenant}/admin's,
// or the admin tenant for /admin. Deleted tenants are gone.
func (c *Console) managed(r *http.Request) (*store.Tenant, string, error) {
	if slug := r.PathValue("tenant"); slug != "" {
		t, ok := httpx.Tenant(r)
		if !ok || t.Status == store.TenantDeleted {
			return nil, "", store.ErrNotFound
		}
		return t, "/t/" + t.Slug + "/admin", nil
	}
	t, err := c.Tenants.Resolve(r.Context(), c.adminSlug())
	if err != nil {
		return nil, "", err
	}
	return t, "/admin", nil
}

func (c *Console) adminSlug() string {
	if c.AdminTenant == "" {
		return tenancy.DefaultSlug
	}
	return c.AdminTenant
}

// wrap runs p's handler for a signed-in user holding p.Perm, as the
// package doc says.
func (c *Console) wrap(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		rq, ok := c.authenticate(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil || !c.checkCSRF(r, rq.sess) {
				c.errorPage(w, rq, http.StatusForbidden, "console.error.csrf")
				return
			}
		}
		if !rq.Can(p.Perm) {
			c.errorPage(w, rq, http.StatusForbidden, "console.error.forbidden")
			return
		}
		rq.Flash = c.takeFlash(w, r)
		if err := p.Handle(w, r, rq); err != nil {
			c.fail(w, rq, err)
		}
	})
}

// authenticate answers the signed-in request, or redirects to the login
// (answering false). The session must be live, its login session too, its
// user active; a user of another tenant than the one managed must be a
// platform administrator of the admin tenant.
func (c *Console) authenticate(w http.ResponseWriter, r *http.Request) (*Request, bool) {
	ctx := r.Context()
	t, base, err := c.managed(r)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.Log.ErrorContext(ctx, "console: tenant", "err", err)
		}
		http.NotFound(w, r)
		return nil, false
	}
	rq := &Request{Tenant: t, Base: base, c: c, r: r,
		Lang: i18n.Choose(nil, r.Header.Get("Accept-Language"), tenancy.PresentationOf(t, "").DefaultLocale)}
	toLogin := func() (*Request, bool) {
		c.clearSession(w)
		ret := r.URL.Path
		if r.Method != http.MethodGet {
			ret = base
		} else if r.URL.RawQuery != "" {
			ret += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, base+"/login?return_to="+url.QueryEscape(ret), http.StatusSeeOther)
		return nil, false
	}
	s := c.readSession(r)
	if s == nil {
		return toLogin()
	}
	home := t
	if s.Tenant != string(t.ID) {
		if home, err = c.Tenants.Resolve(ctx, s.Tenant); err != nil {
			return toLogin()
		}
	}
	if _, err := c.Sessions.LiveByID(ctx, home.ID, s.SID); err != nil {
		return toLogin()
	}
	u, err := c.Directory.GetUser(ctx, home.ID, s.User)
	if err != nil || u.Status != store.UserActive {
		return toLogin()
	}
	perms, err := c.Authz.Permissions(ctx, home.ID, u.ID)
	if err != nil {
		c.Log.ErrorContext(ctx, "console: permissions", "err", err)
		return toLogin()
	}
	rq.Home, rq.User, rq.sess, rq.CSRF = home, u, s, s.CSRF
	rq.Platform = home.Slug == c.adminSlug() && authz.Holds(perms, authz.PermPlatform)
	rq.Actor = events.Actor{Type: "user", ID: u.ID, ClientIP: httpx.ClientIP(r), RequestID: httpx.RequestID(ctx)}
	if u.Locale != "" && i18n.Supported(u.Locale) {
		rq.Lang = u.Locale
	}
	switch {
	case home.ID == t.ID:
		rq.perms = perms
	case rq.Platform:
		// A platform administrator holds every permission in every tenant.
		rq.perms = map[string]bool{"gatehouse:*": true}
	default:
		c.touch(w, s)
		c.errorPage(w, rq, http.StatusForbidden, "console.error.other_tenant")
		return nil, false
	}
	c.touch(w, s)
	return rq, true
}
