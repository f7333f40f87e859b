package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/consoleassets"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/setup"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// DefaultIdleTimeout ends a console session unused for this long.
const DefaultIdleTimeout = 30 * time.Minute

// maxAge ends a console session this long after its sign-in, used or not.
const maxAge = 12 * time.Hour

// Console serves the admin console. Build it once; Mount registers its
// routes.
type Console struct {
	Tenants     *tenancy.Service
	Directory   *directory.Service
	Authz       *authz.Service
	Sessions    *session.Service
	MFA         *mfa.Service
	SelfService *selfservice.Service
	Privacy     *privacy.Service
	Connections *connection.Service
	Audit       store.AuditLog
	// Setup registers the console's OIDC client in each tenant and runs
	// the first-run setup (internal/setup).
	Setup *setup.Service
	// Sealer seals the console's session cookies.
	Sealer *seal.Sealer
	Log    *slog.Logger
	// PublicURL is the deployment's public URL; AdminTenant the slug of
	// the tenant whose users sign in at /admin.
	PublicURL   string
	AdminTenant string
	// IdleTimeout ends unused sessions (DefaultIdleTimeout when 0).
	IdleTimeout time.Duration
	Now         func() time.Time
	// DocsURL is where the welcome page's documentation link goes.
	DocsURL string
	// More holds the services of the dashboard and applications pages
	// (more.go).
	More *More

	// loopback serves the console's own requests to the OpenID provider
	// (discovery, token, keys) in process; Mount sets it.
	loopback http.Handler
	pages    []Page
}

// Page is one console route; see the package doc.
type Page struct {
	// Method is GET or POST.
	Method string
	// Path is below the console root: "/users", "/users/{id}".
	Path string
	// Perm is the permission the user must hold in the tenant managed:
	// the same as the management API route's (authz.Perm*).
	Perm string
	// Nav, when set, is the catalog key of the page's entry in the
	// navigation, shown to users holding Perm; Order sorts the entries.
	Nav   string
	Order int
	// Handle serves the request once the user is signed in and allowed.
	Handle func(w http.ResponseWriter, r *http.Request, rq *Request) error
}

// registry holds each file's page list (register, called from init).
var registry []func(*Console) []Page

// register adds a file's pages; call it from an init function.
func register(f func(*Console) []Page) { registry = append(registry, f) }

// ErrForbidden renders the 403 page.
var ErrForbidden = errors.New("console: forbidden")

func (c *Console) now() time.Time {
	if c.Now == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}

func (c *Console) idle() time.Duration {
	if c.IdleTimeout <= 0 {
		return DefaultIdleTimeout
	}
	return c.IdleTimeout
}

// Mount registers the console's routes on mux: every page under /admin and
// /t/{tenant}/admin, the login, the welcome page at / and the first-run
// setup page.
func (c *Console) Mount(mux *http.ServeMux) {
	// The console's own protocol requests skip the network: they enter
	// the mux behind the tenant resolution every /t/ request needs.
	c.loopback = httpx.ResolveTenants(c.Tenants, mux)
	c.pages = nil
	for _, f := range registry {
		c.pages = append(c.pages, f(c)...)
	}
	slices.SortStableFunc(c.pages, func(a, b Page) int { return a.Order - b.Order })
	for _, p := range c.pages {
		h := c.wrap(p)
		mux.Handle(p.Method+" /admin"+p.Path, h)
		mux.Handle(p.Method+" /t/{tenant}/admin"+p.Path, h)
	}
	for _, root := range []string{"/admin", "/t/{tenant}/admin"} {
		mux.HandleFunc("GET "+root+"/login", c.login)
		mux.HandleFunc("GET "+root+"/callback", c.callback)
		mux.HandleFunc("POST "+root+"/logout", c.logout)
		mux.HandleFunc("GET "+root+"/switch", c.switchTenant)
		mux.HandleFunc("GET "+root+"/signed-out", c.signedOut) // public.go
		mux.HandleFunc(root+"/", c.notFound)
	}
	mux.HandleFunc("GET /admin/{$}", c.home)
	mux.HandleFunc("GET /admin", c.home)
	mux.HandleFunc("GET /t/{tenant}/admin", c.home)
	mux.Handle("GET /admin/assets/", http.StripPrefix("/admin/assets/", assetHandler()))
	// The dashboard's charts and the applications pages' script (more.go).
	mux.Handle("GET "+consoleassets.Prefix, consoleassets.Handler())
	mux.HandleFunc("GET /{$}", c.welcome)     // public.go
	mux.HandleFunc("GET /setup", c.setupForm) // public.go
	mux.HandleFunc("POST /setup", c.setupSubmit)
}

// home sends /admin to the console's first page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	base := "/admin"
	if slug := r.PathValue("tenant"); slug != "" {
		base = "/t/" + slug + "/admin"
	}
	http.Redirect(w, r, base+"/dashboard", http.StatusSeeOther)
}

// Request is one signed-in console request, as a page handler sees it.
type Request struct {
	// Tenant is the tenant managed; Home the tenant of the console user.
	Tenant *store.Tenant
	Home   *store.Tenant
	User   *store.User
	// Base is the console root of Tenant: "/admin" or "/t/{slug}/admin".
	Base string
	// Lang is the page language; CSRF the token forms carry.
	Lang string
	CSRF string
	// Actor is the console user, for the services' audit entries.
	Actor events.Actor
	// Platform: the user manages every tenant (the tenant switcher).
	Platform bool
	// Flash is a message left by the previous POST (rq.Redirect).
	Flash string

	perms map[string]bool
	c     *Console
	r     *http.Request
	sess  *sessionState
}

// Can reports whether the user holds perm in the tenant managed.
func (rq *Request) Can(perm string) bool { return authz.Holds(rq.perms, perm) }

// Context is the request's context.
func (rq *Request) Context() context.Context { return rq.r.Context() }

// Redirect answers 303 to path below the console root, leaving flash (a
// catalog key, or "") for the next page.
func (rq *Request) Redirect(w http.ResponseWriter, path, flash string) error {
	if flash != "" {
		setFlash(w, rq.c.secure(), flash)
	}
	http.Redirect(w, rq.r, rq.Base+path, http.StatusSeeOther)
	return nil
}
