// Package console is the browser admin console at /admin (the admin
// tenant's console) and /t/{tenant}/admin (any tenant's): HTML pages over
// the same services and validation rules as the management API, never SQL.
//
// Who is signed in: console users are ordinary users of a tenant holding
// the built-in roles of internal/authz (gatehouse.platform_admin,
// gatehouse.admin, gatehouse.helpdesk, gatehouse.viewer) or any role
// granting the gatehouse:* permissions. They sign in through Gatehouse's
// own OpenID Connect login (the console is a first-party client of the
// tenant, code flow with PKCE), so MFA, passkeys, risk and audit apply.
// The console then keeps its own session: a cookie sealed with the master
// key, ended by idle time, absolute age, or the end of the login session
// it came from.
//
// # Adding a page
//
// A file of this package registers its pages in an init function:
//
//	func init() {
//		register(func(c *Console) []Page {
//			return []Page{
//				{Method: "GET", Path: "/apps", Perm: authz.PermRead, Nav: "console.nav.apps", Order: 40,
//					Handle: c.appsList},
//				{Method: "POST", Path: "/apps", Perm: authz.PermAdmin, Handle: c.appsCreate},
//			}
//		})
//	}
//
//	var appsTmpl = parse("apps.html") // templates/apps.html defines "content"
//
//	func (c *Console) appsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
//		...
//		return rq.Render(w, http.StatusOK, appsTmpl, "console.apps.title", data)
//	}
//
// Every page is served at /admin{Path} and /t/{tenant}/admin{Path}. Before
// Handle runs, the wrapper has signed the user in (or redirected to the
// login), resolved the tenant managed (rq.Tenant), checked Perm (a page
// the user may not open answers 403 with a friendly page), checked the
// CSRF token of every POST (forms carry {{template "csrf" .}}), and set
// the security headers (no framing, strict CSP, no caching). Perm is the
// permission of the management API route the page stands for (the API's
// read, audit:read, admin and platform scopes are PermRead, PermAudit,
// PermAdmin and PermPlatform; PermSupport is the help desk's part of
// admin). A handler checks finer actions with rq.Can(perm).
//
// Handlers call the services with rq.Actor (the console user, audited as
// the actor of every change) and return errors: store.ErrNotFound renders
// the 404 page, ErrForbidden the 403 page, anything else the 500 page
// (logged). Validation errors (*valid.Error, *valid.Conflict) are the
// handler's to show inline: FieldErrors(err) maps them to field names.
// After a successful POST, redirect (rq.Redirect) to a GET page, with
// rq.Flash to say what happened.
//
// Templates sit in templates/ and are parsed once with the layout (parse);
// a template defines "content" and sees a View: .Data is what the handler
// passed, .Base the console root of the tenant ("/admin" or
// "/t/{slug}/admin"), .CSRF the token, .User the console user, .Errors
// the inline errors. Translated strings come from the catalogs'
// console.* keys via {{t "key"}}. Styles live in assets/console.css
// (served at /admin/assets/); no inline scripts or styles: the CSP
// allows only same-origin scripts and styles.
package console
