package web

// The account page (/t/{tenant}/account): a signed-in user's profile,
// email, password, devices, apps, data and deletion, driving
// internal/account. Every form carries the CSRF token and posts to its own
// path; success redirects back to the page with a notice (POST, redirect,
// GET); failure shows the page again with the reason. Forms of the
// account handlers live in account_forms.go.

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

var accountPages = map[string]*ui.Page{
	"account":       ui.Parse(templateFS, "templates/account.html", "templates/account_access.html", "templates/announcements.html", "templates/account_risk.html"),
	"account_email": ui.Parse(templateFS, "templates/account_email.html"),
}

// mountAccount registers the account page's routes.
func (p *Pages) mountAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/account", p.page(p.accountShow))
	mux.HandleFunc("GET /t/{tenant}/account/login", p.page(p.accountLoginForm))
	mux.HandleFunc("POST /t/{tenant}/account/login", p.page(p.accountLoginSubmit))
	mux.HandleFunc("POST /t/{tenant}/account/profile", p.accountAction(p.accountProfile))
	mux.HandleFunc("POST /t/{tenant}/account/email", p.accountAction(p.accountEmail))
	mux.HandleFunc("POST /t/{tenant}/account/password", p.accountAction(p.accountPassword))
	mux.HandleFunc("POST /t/{tenant}/account/sessions/end", p.accountAction(p.accountEndSession))
	mux.HandleFunc("POST /t/{tenant}/account/apps/revoke", p.accountAction(p.accountRevokeApp))
	mux.HandleFunc("POST /t/{tenant}/account/grants/revoke", p.accountAction(p.accountRevokeGrant))
	mux.HandleFunc("POST /t/{tenant}/account/export", p.accountAction(p.accountExport))
	mux.HandleFunc("POST /t/{tenant}/account/delete", p.accountAction(p.accountDelete))
	if p.Authz != nil {
		mux.HandleFunc("POST /t/{tenant}/account/elevations", p.accountAction(p.accountElevation))              // account_access.go
		mux.HandleFunc("POST /t/{tenant}/account/elevations/decide", p.accountAction(p.accountDecideElevation)) // account_approvals.go
	}
	mux.HandleFunc("GET /t/{tenant}/account/email/confirm", p.page(p.accountEmailForm))
	mux.HandleFunc("POST /t/{tenant}/account/email/confirm", p.page(p.accountEmailConfirm))
	mux.HandleFunc("GET /t/{tenant}/email/revert", p.page(p.emailRevertForm)) // email_revert.go
	mux.HandleFunc("POST /t/{tenant}/email/revert", p.page(p.emailRevertSubmit))
	mux.HandleFunc("GET /t/{tenant}/account/secure", p.page(p.secureForm)) // secure.go
	mux.HandleFunc("POST /t/{tenant}/account/secure", p.page(p.secureSubmit))
	mux.HandleFunc("POST /t/{tenant}/account/notices", p.accountAction(p.accountNotices)) // announcements.go
	mux.HandleFunc("POST /t/{tenant}/account/devices/forget", p.accountAction(p.accountForgetDevice))
	mux.HandleFunc("POST /t/{tenant}/announcements/dismiss", p.page(p.dismissAnnouncement))
}

// accountDone maps the notice names success redirects carry to messages.
var accountDone = map[string]string{
	"profile": "account.done_profile", "email": "account.done_email", "password": "account.done_password",
	"session": "account.done_session", "app": "account.done_app", "grant": "account.done_grant",
	"identity": "account.done_identity", "identity_removed": "account.done_identity_removed",
	"elevation_requested": "account.done_elevation_requested", "elevation_active": "account.done_elevation_active",
	"elevation_approved": "account.done_elevation_approved", "elevation_denied": "account.done_elevation_denied",
	"notices": "account.done_notices", "device": "risk.done_device",
}

type sessionRow struct {
	ID, Device, IP, LastSeen string
	Current                  bool
}

type appRow struct {
	ClientID, Name, Since string
	Scopes                []string
}

// grantRow is a device or offline grant (account.Grant) as shown.
type grantRow struct {
	ID, Name, Kind, Since, Used string
}

type accountView struct {
	ui.Frame
	CSRF string
	// Announcements for the user, Back this page's path (announcements.go);
	// NoticesMuted: the user muted the notices not about security.
	Announcements []notice.ShownAnnouncement
	Back          string
	NoticesMuted  bool
	Notice, Error string
	User          *store.User
	// Attrs are the profile attributes: name, value, label.
	Attrs         [][3]string
	Sessions      []sessionRow
	OtherSessions bool
	Apps          []appRow
	Grants        []grantRow
	PasswordMin   int
	// Identities are the linked sign-ins; Link the connections the user
	// can still link (social.go).
	Identities []identityRow
	Link       []connButton
	// Access: the app launcher and my roles (account_access.go).
	Access accessView
	// EmailProof is the second-factor field the email change asks for
	// ("code" or none; mfa_reauth.go).
	EmailProof string
	// Where: recent sign-ins and known devices (account_risk.go).
	Where *whereView
}

// accountReq is a signed-in request to the account page.
type accountReq struct {
	w    http.ResponseWriter
	r    *http.Request
	t    *store.Tenant
	sess *store.Session
	f    ui.Frame
}

func (a *accountReq) actor() events.Actor {
	return account.Actor(a.sess.UserID, httpx.ClientIP(a.r), httpx.RequestID(a.r.Context()))
}

// pageURL is the account page in the request's language, with a notice.
func (a *accountReq) pageURL(done string) string {
	q := url.Values{"ui_locales": {a.f.Lang}}
	if done != "" {
		q.Set("done", done)
	}
	return "/t/" + a.t.Slug + "/account?" + q.Encode()
}

func (p *Pages) accountLoginURL(t *store.Tenant, lang string) string {
	return "/t/" + t.Slug + "/account/login?ui_locales=" + url.QueryEscape(lang)
}

// accountAction reads a posted account form: bounded body, CSRF token and
// Origin, then a live session (else to the sign-in page); only then fn.
func (p *Pages) accountAction(fn func(*accountReq)) http.HandlerFunc {
	return p.page(func(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
		if !p.readForm(w, r, t, "account.title") {
			return
		}
		f := ui.FrameFor(r, t, nil, "account.title")
		sess := p.currentSession(r.Context(), r, t)
		if sess == nil {
			http.Redirect(w, r, p.accountLoginURL(t, f.Lang), http.StatusSeeOther)
			return
		}
		fn(&accountReq{w: w, r: r, t: t, sess: sess, f: f})
	})
}

// accountShow: GET /t/{tenant}/account; without a session, to sign-in.
func (p *Pages) accountShow(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "account.title")
	sess := p.currentSession(r.Context(), r, t)
	if sess == nil {
		http.Redirect(w, r, p.accountLoginURL(t, f.Lang), http.StatusFound)
		return
	}
	a := &accountReq{w: w, r: r, t: t, sess: sess, f: f}
	notice := ""
	if key, ok := accountDone[r.URL.Query().Get("done")]; ok {
		notice = f.T(key)
	}
	p.showAccount(a, http.StatusOK, notice, "")
}

// showAccount renders the page with a notice or an error (translated).
func (p *Pages) showAccount(a *accountReq, status int, notice, errText string) {
	ctx := a.r.Context()
	u, err := p.Store.Users().GetUser(ctx, a.t.ID, a.sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		p.clearSessionCookie(a.w, a.t)
		http.Redirect(a.w, a.r, p.accountLoginURL(a.t, a.f.Lang), http.StatusSeeOther)
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	v := accountView{Frame: a.f, CSRF: p.csrf(a.w, a.r), Notice: notice, Error: errText, User: u,
		Announcements: p.accountAnnouncements(a.r, a.t, u.ID, a.f.Lang), Back: "/t/" + a.t.Slug + "/account"}
	if v.NoticesMuted, err = p.Store.SelfService().NoticePrefs().NoticesMuted(ctx, a.t.ID, u.ID); err != nil {
		p.accountFail(a, err)
		return
	}
	v.Wide = true
	for _, at := range account.ProfileAttributes(a.t, u) {
		label := attrLabel(at[0])
		if l, ok := profileLabel(a.t, "attributes."+at[0], a.f.Lang); ok { // profile.go: the schema's label
			label = l
		}
		v.Attrs = append(v.Attrs, [3]string{at[0], at[1], label})
	}
	sessions, err := p.Account.Sessions.List(ctx, a.t.ID, u.ID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	// This device first, then the others by id (creation).
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].ID == a.sess.ID && sessions[j].ID != a.sess.ID })
	for _, s := range sessions {
		cur := s.ID == a.sess.ID
		v.OtherSessions = v.OtherSessions || !cur
		v.Sessions = append(v.Sessions, sessionRow{ID: s.ID, Device: deviceName(s.UserAgent), IP: s.IP,
			LastSeen: s.LastSeenAt.UTC().Format("2006-01-02 15:04 UTC"), Current: cur})
	}
	if v.Where, err = p.accountWhere(a); err != nil { // account_risk.go
		p.accountFail(a, err)
		return
	}
	apps, err := p.Account.Apps(ctx, a.t.ID, u.ID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	for _, app := range apps {
		v.Apps = append(v.Apps, appRow{ClientID: app.ClientID, Name: app.Name,
			Since: app.Since.UTC().Format("2006-01-02"), Scopes: scopeTexts(a.f, app.Scopes)})
	}
	grants, err := p.Account.OfflineGrants(ctx, a.t.ID, u.ID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	for _, g := range grants {
		kind := "account.grant_offline"
		if g.Kind == session.GrantDevice {
			kind = "account.grant_device"
		}
		v.Grants = append(v.Grants, grantRow{ID: g.ID, Name: g.Name, Kind: a.f.T(kind),
			Since: g.Since.UTC().Format("2006-01-02"), Used: g.LastUsed.UTC().Format("2006-01-02 15:04 UTC")})
	}
	v.Identities, v.Link = p.socialAccount(a.w, ctx, a.t, u.ID)
	if v.Access, err = p.accessSections(a); err != nil {
		p.accountFail(a, err)
		return
	}
	if v.EmailProof, err = p.emailChangeProof(a); err != nil { // mfa_reauth.go
		p.accountFail(a, err)
		return
	}
	set, _ := tenancy.ParseSettings(a.t.Settings)
	v.PasswordMin = set.PasswordPolicy.MinLength
	accountPages["account"].Render(a.w, p.Log, status, a.f.Lang, v)
}

// accountFail logs an unexpected error and answers a bare failure page.
func (p *Pages) accountFail(a *accountReq, err error) {
	p.Log.ErrorContext(a.r.Context(), "web: account", "err", err, "request_id", httpx.RequestID(a.r.Context()))
	p.message(a.w, a.r, a.t, http.StatusInternalServerError, "account.title", "error.generic")
}

// attrLabel shows an attribute name as words: job_title -> Job title.
func attrLabel(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// deviceName shortens a User-Agent for the device list.
func deviceName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "?"
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return ua
}
