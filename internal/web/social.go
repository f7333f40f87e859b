package web

// Social login pages: a button per enabled connection on the
// login page, home-realm discovery by email domain, the start and callback
// of an upstream login (internal/broker), just-in-time accounts and linking
// after proof (flow.Social), friendly failure pages with a retry, and the
// linked identities on the account page.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/broker"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

var socialPages = map[string]*ui.Page{
	"social_error": ui.Parse(templateFS, "templates/social_error.html"),
	"social_link":  ui.Parse(templateFS, "templates/social_link.html"),
	// social_continue hands over to the client by a Refresh header, not a
	// redirect: a redirect would continue the chain of the upstream's form
	// POST (its login form, Apple's form_post), and browsers check every
	// step of that chain against the upstream page's form-action, which
	// knows our callback but not our clients.
	"social_continue": ui.Parse(templateFS, "templates/social_continue.html"),
}

// Social wires social login into the pages; nil leaves it out.
type Social struct {
	Broker      *broker.Broker
	Flow        *flow.Social
	Connections *connection.Service
}

// connButton is a connection on the login or account page.
type connButton struct {
	Name, Action string
}

type socialView struct {
	ui.Frame
	Provider, Message, Retry string
	CSRF, State, Email       string
	Error                    string
}

// pendingLink is what the link page remembers (sealed in the store).
type pendingLink struct {
	UserID    string         `json:"u"`
	Email     string         `json:"e"`
	RequestID string         `json:"r,omitempty"`
	ConnID    string         `json:"c"`
	Profile   broker.Profile `json:"p"`
	Tokens    []byte         `json:"k,omitempty"`
}

func (p *Pages) mountSocial(mux *http.ServeMux) {
	if p.Social == nil {
		return
	}
	mux.HandleFunc("POST /t/{tenant}/connections/{name}/start", p.page(p.socialStart))
	mux.HandleFunc("GET /t/{tenant}/connections/{name}/callback", p.page(p.socialCallback))
	// Apple's response_mode=form_post posts the callback (cross-site: no
	// CSRF token; the state bound to the browser's cookie protects it).
	mux.HandleFunc("POST /t/{tenant}/connections/{name}/callback", p.page(p.socialCallback))
	mux.HandleFunc("POST /t/{tenant}/connections/link", p.page(p.socialLinkSubmit))
	mux.HandleFunc("GET /t/{tenant}/connections/{name}/metadata", p.page(p.socialSAMLMetadata))
	mux.HandleFunc("POST /t/{tenant}/account/identities/remove", p.accountAction(p.accountUnlink))
}

// stateCookie names the cookie that binds a login in flight to the browser.
func (p *Pages) stateCookie(slug string) string { return "gh_broker_" + slug }

func (p *Pages) setStateCookie(w http.ResponseWriter, t *store.Tenant, value string, maxAge int) {
	c := &http.Cookie{Name: p.stateCookie(t.Slug), Value: value, Path: "/t/" + t.Slug + "/connections/",
		HttpOnly: true, MaxAge: maxAge, SameSite: http.SameSiteLaxMode}
	if p.Secure() {
		// A form_post callback is a cross-site POST: only SameSite=None
		// cookies come with it.
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// connectionButtons answers the enabled connections the client may use
// and, when w is not nil, adds their upstreams' origins to the page's
// form-action (browsers check it on the redirects a form's POST follows).
func (p *Pages) connectionButtons(w http.ResponseWriter, ctx context.Context, t *store.Tenant, clientID string) []connButton {
	if p.Social == nil {
		return nil
	}
	conns, err := p.Social.Connections.Enabled(ctx, t.ID)
	if err != nil {
		p.Log.WarnContext(ctx, "web: connections", "err", err)
		return nil
	}
	var out []connButton
	for _, c := range conns {
		st, err := connection.SettingsOf(&c)
		if err != nil || (len(st.Clients) > 0 && !slices.Contains(st.Clients, clientID)) {
			continue
		}
		if w != nil {
			upstream := st.AuthorizationEndpoint
			if upstream == "" {
				upstream = st.Issuer
			}
			allowFormRedirect(w, upstream)
		}
		out = append(out, connButton{Name: c.DisplayName, Action: "/t/" + t.Slug + "/connections/" + c.Name + "/start"})
	}
	return out
}

// homeRealm answers the connection whose domains include identifier's
// domain, among those the client may use (nil when none).
func (p *Pages) homeRealm(ctx context.Context, t *store.Tenant, clientID, identifier string) *store.Connection {
	at := strings.LastIndexByte(identifier, '@')
	if p.Social == nil || at < 0 {
		return nil
	}
	domain := strings.ToLower(identifier[at+1:])
	conns, err := p.Social.Connections.Enabled(ctx, t.ID)
	if err != nil {
		return nil
	}
	for i := range conns {
		st, err := connection.SettingsOf(&conns[i])
		if err == nil && slices.Contains(st.Domains, domain) && (len(st.Clients) == 0 || slices.Contains(st.Clients, clientID)) {
			return &conns[i]
		}
	}
	return nil
}

// redirectUpstream starts a login at conn and sends the browser there.
func (p *Pages) redirectUpstream(w http.ResponseWriter, r *http.Request, t *store.Tenant, conn *store.Connection, pend broker.Pending) {
	authURL, state, err := p.Social.Broker.Start(r.Context(), t, conn, pend)
	if err != nil {
		p.socialFailed(w, r, t, conn, pend.RequestID, err)
		return
	}
	p.setStateCookie(w, t, state, 600)
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// socialStart: POST .../connections/{name}/start from a login page button
// (with the request id) or the account page (link=1, signed in).
func (p *Pages) socialStart(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "social.failed_title") {
		return
	}
	ctx := r.Context()
	conn, err := p.Social.Connections.ByName(ctx, t.ID, r.PathValue("name"))
	if err != nil || !conn.Enabled || connection.IsLegacy(conn.Type) {
		p.message(w, r, t, http.StatusNotFound, "social.failed_title", "social.unknown")
		return
	}
	pend := broker.Pending{}
	if r.PostFormValue("link") == "1" {
		sess := p.currentSession(ctx, r, t)
		if sess == nil {
			http.Redirect(w, r, p.accountLoginURL(t, ui.FrameFor(r, t, nil, "").Lang), http.StatusSeeOther)
			return
		}
		pend.LinkUserID = sess.UserID
	} else {
		ar, err := p.Flow.Load(ctx, t.ID, r.PostFormValue("id"))
		if err != nil {
			p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
			return
		}
		st, _ := connection.SettingsOf(conn)
		if len(st.Clients) > 0 && !slices.Contains(st.Clients, ar.ClientID) {
			p.message(w, r, t, http.StatusNotFound, "social.failed_title", "social.unknown")
			return
		}
		pend.RequestID = ar.ID
	}
	p.redirectUpstream(w, r, t, conn, pend)
}

// socialCallback: the upstream sends the browser back (GET, or POST for
// form_post). Whatever fails ends on a friendly page with a retry.
func (p *Pages) socialCallback(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 768<<10) // a SAML Response is up to 512 KiB in base64
	if err := r.ParseForm(); err != nil {
		p.message(w, r, t, http.StatusBadRequest, "social.failed_title", "error.form_unreadable")
		return
	}
	conn, err := p.Social.Connections.ByName(ctx, t.ID, r.PathValue("name"))
	if err != nil || !conn.Enabled || connection.IsLegacy(conn.Type) {
		p.message(w, r, t, http.StatusNotFound, "social.failed_title", "social.unknown")
		return
	}
	cookie := ""
	if c, err := r.Cookie(p.stateCookie(t.Slug)); err == nil {
		cookie = c.Value
	}
	p.setStateCookie(w, t, "", -1)
	res, err := p.Social.Broker.Finish(ctx, t, conn, cookie, r.Form)
	if err != nil {
		retry := ""
		if res != nil {
			retry = res.Pending.RequestID
		}
		p.socialFailed(w, r, t, conn, retry, err)
		return
	}
	up := flow.Upstream{Connection: conn, Subject: res.Profile.Subject, Email: res.Profile.Email,
		EmailVerified: res.Profile.EmailVerified, Name: res.Profile.Name, GivenName: res.Profile.GivenName,
		FamilyName: res.Profile.FamilyName, Tokens: res.Tokens}
	if uid := res.Pending.LinkUserID; uid != "" {
		p.socialLinkFromAccount(w, r, t, conn, uid, up)
		return
	}
	ctx = flow.WithRememberToken(ctx, p.rememberCookie(r, t)) // mfa.go
	_, token, err := p.Social.Flow.Login(ctx, t.ID, res.Pending.RequestID, up, httpx.ClientIP(r), r.UserAgent())
	var link *flow.LinkRequiredError
	if errors.As(err, &link) {
		p.socialLinkForm(w, r, t, conn, pendingLink{UserID: link.UserID, Email: up.Email, RequestID: res.Pending.RequestID,
			ConnID: conn.ID, Profile: res.Profile, Tokens: res.Tokens}, http.StatusOK, "")
		return
	}
	p.socialDone(w, r, t, conn, res.Pending.RequestID, token, err)
}

// socialDone ends a social login: the session cookie and the client, or
// the page that says why not.
func (p *Pages) socialDone(w http.ResponseWriter, r *http.Request, t *store.Tenant, conn *store.Connection, requestID, token string, err error) {
	if token != "" {
		p.setSessionCookie(w, r, t, token)
	}
	var sf *flow.SecondFactorError
	switch {
	case errors.As(err, &sf): // the upstream was the first factor (mfa.go)
		p.setMFACookie(w, t, sf.Token, 600)
		target := "/t/" + t.Slug + "/account/login/mfa"
		if _, lerr := p.Flow.Load(r.Context(), t.ID, requestID); requestID != "" && lerr == nil {
			target = "/t/" + t.Slug + "/login/mfa?id=" + url.QueryEscape(requestID)
		}
		p.handOver(w, r, t, target)
	case err == nil:
		p.handOver(w, r, t, p.returnByID(r, t, requestID))
	case waitingStep(t, requestID, err) != "": // signed in; a step after the session waits
		p.handOver(w, r, t, waitingStep(t, requestID, err))
	case errors.Is(err, flow.ErrRequestGone) && token != "":
		p.handOver(w, r, t, "/t/"+t.Slug+"/account")
	default:
		p.socialFailed(w, r, t, conn, requestID, err)
	}
}

// handOver leaves a finished upstream login for target (a local path) by
// a Refresh header on a small page (see social_continue).
func (p *Pages) handOver(w http.ResponseWriter, r *http.Request, t *store.Tenant, target string) {
	f := ui.FrameFor(r, t, nil, "social.continue_title")
	w.Header().Set("Refresh", "0;url="+target)
	socialPages["social_continue"].Render(w, p.Log, http.StatusOK, f.Lang, socialView{Frame: f,
		Message: f.T("social.continuing"), Retry: target})
}

// socialFailed shows why a social login ended, with a retry where one helps.
func (p *Pages) socialFailed(w http.ResponseWriter, r *http.Request, t *store.Tenant, conn *store.Connection, requestID string, err error) {
	f := ui.FrameFor(r, t, nil, "social.failed_title")
	v := socialView{Frame: f, Provider: conn.DisplayName}
	status, msg := http.StatusBadGateway, "social.failed_body"
	var be *broker.Error
	switch {
	case errors.As(err, &be):
		if be.Reason == broker.ReasonState {
			status = http.StatusBadRequest
		}
	case errors.Is(err, tenancy.ErrMAULimit):
		status, msg = http.StatusForbidden, "login.mau_limit"
	case errors.Is(err, flow.ErrEmailInUse):
		status, msg = http.StatusConflict, "social.email_in_use"
	case errors.Is(err, flow.ErrUpstreamUnverified):
		status, msg = http.StatusForbidden, "social.email_unverified"
	case errors.Is(err, flow.ErrNoEmail):
		status, msg = http.StatusBadRequest, "social.no_email"
	case errors.Is(err, flow.ErrLinkedElsewhere):
		status, msg = http.StatusConflict, "social.linked_elsewhere"
	case errors.Is(err, flow.ErrUnverified):
		status, msg = http.StatusForbidden, "login.unverified"
	case errors.Is(err, flow.ErrMFAUnmet), errors.Is(err, flow.ErrStepUpRequired):
		status, msg = http.StatusForbidden, "mfa.unmet"
	case errors.Is(err, flow.ErrInvalidCredentials):
		status, msg = http.StatusForbidden, "social.failed_body"
	case errors.As(err, new(*hooks.DeniedError)):
		status = http.StatusForbidden
	default:
		p.Log.ErrorContext(r.Context(), "web: social login", "err", err, "request_id", httpx.RequestID(r.Context()))
		status = http.StatusInternalServerError
	}
	v.Message = f.T(msg, "provider", conn.DisplayName)
	if text, ok := hookText(f, err); ok { // hooks.go
		v.Message = text
	}
	if requestID != "" {
		v.Retry = "/t/" + t.Slug + "/login?id=" + url.QueryEscape(requestID)
	} else {
		v.Retry = "/t/" + t.Slug + "/account"
	}
	socialPages["social_error"].Render(w, p.Log, status, f.Lang, v)
}

// socialLinkForm asks for the existing account's password.
func (p *Pages) socialLinkForm(w http.ResponseWriter, r *http.Request, t *store.Tenant, conn *store.Connection, pl pendingLink, status int, errKey string) {
	state, err := p.Social.Broker.Put(r.Context(), t.ID, broker.PurposeLink, pl)
	if err != nil {
		p.socialFailed(w, r, t, conn, pl.RequestID, err)
		return
	}
	f := ui.FrameFor(r, t, nil, "social.link_title")
	socialPages["social_link"].Render(w, p.Log, status, f.Lang, socialView{Frame: f, Provider: conn.DisplayName,
		CSRF: p.csrf(w, r), State: state, Email: pl.Email, Error: errKey})
}

// socialLinkSubmit: POST /t/{tenant}/connections/link with the password.
func (p *Pages) socialLinkSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "social.link_title") {
		return
	}
	ctx := r.Context()
	var pl pendingLink
	if err := p.Social.Broker.Take(ctx, t.ID, broker.PurposeLink, r.PostFormValue("state"), &pl); err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "social.link_expired")
		return
	}
	conn, err := p.Social.Connections.Get(ctx, t.ID, pl.ConnID)
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "social.link_expired")
		return
	}
	password := r.PostFormValue("password")
	if password == "" || len(password) > 1024 {
		p.socialLinkForm(w, r, t, conn, pl, http.StatusBadRequest, "login.missing")
		return
	}
	up := flow.Upstream{Connection: conn, Subject: pl.Profile.Subject, Email: pl.Profile.Email,
		EmailVerified: pl.Profile.EmailVerified, Name: pl.Profile.Name, GivenName: pl.Profile.GivenName,
		FamilyName: pl.Profile.FamilyName, Tokens: pl.Tokens}
	ctx = flow.WithRememberToken(ctx, p.rememberCookie(r, t)) // mfa.go
	_, token, err := p.Social.Flow.LinkWithPassword(ctx, t.ID, pl.RequestID, pl.UserID, up, pl.Email, password,
		httpx.ClientIP(r), r.UserAgent())
	var throttled *flow.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		p.socialLinkForm(w, r, t, conn, pl, http.StatusTooManyRequests, "login.throttled")
		return
	case errors.Is(err, flow.ErrInvalidCredentials):
		p.socialLinkForm(w, r, t, conn, pl, http.StatusUnauthorized, "login.invalid")
		return
	}
	p.socialDone(w, r, t, conn, pl.RequestID, token, err)
}

// socialLinkFromAccount links an identity to the signed-in user who
// started the login from the account page.
func (p *Pages) socialLinkFromAccount(w http.ResponseWriter, r *http.Request, t *store.Tenant, conn *store.Connection, userID string, up flow.Upstream) {
	sess := p.currentSession(r.Context(), r, t)
	if sess == nil || sess.UserID != userID {
		p.socialFailed(w, r, t, conn, "", flow.ErrInvalidCredentials)
		return
	}
	if err := p.Social.Flow.LinkToUser(r.Context(), t.ID, userID, up); err != nil {
		p.socialFailed(w, r, t, conn, "", err)
		return
	}
	p.handOver(w, r, t, "/t/"+t.Slug+"/account?done=identity")
}

// identityRow is a linked identity on the account page.
type identityRow struct {
	ID, Provider, Email string
}

// socialAccount fills the account page's linked identities and the
// connections the user can still link.
func (p *Pages) socialAccount(w http.ResponseWriter, ctx context.Context, t *store.Tenant, userID string) (rows []identityRow, link []connButton) {
	if p.Social == nil {
		return nil, nil
	}
	ids, err := p.Social.Connections.Identities(ctx, t.ID, userID)
	if err != nil {
		return nil, nil
	}
	linked := map[string]bool{}
	for _, i := range ids {
		rows = append(rows, identityRow{ID: i.ID, Provider: i.DisplayName, Email: i.Email})
		linked[i.DisplayName] = true
	}
	for _, b := range p.connectionButtons(w, ctx, t, "") {
		if !linked[b.Name] {
			link = append(link, b)
		}
	}
	return rows, link
}

// accountUnlink: POST /t/{tenant}/account/identities/remove.
func (p *Pages) accountUnlink(a *accountReq) {
	err := p.Social.Connections.Unlink(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, a.r.PostFormValue("identity_id"))
	switch {
	case err == nil:
		http.Redirect(a.w, a.r, a.pageURL("identity_removed"), http.StatusSeeOther)
	case errors.Is(err, connection.ErrLastMethod):
		p.showAccount(a, http.StatusConflict, "", a.f.T("account.identity_last"))
	case errors.Is(err, store.ErrNotFound):
		p.showAccount(a, http.StatusNotFound, "", a.f.T("error.generic"))
	default:
		p.accountFail(a, err)
	}
}

// socialSAMLMetadata: GET .../connections/{name}/metadata, a SAML
// connection's service-provider metadata for the company IdP's admin.
func (p *Pages) socialSAMLMetadata(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	conn, err := p.Social.Connections.ByName(r.Context(), t.ID, r.PathValue("name"))
	if err != nil || connection.ProtocolOf(conn.Type) != connection.ProtoSAML {
		http.NotFound(w, r)
		return
	}
	md, err := p.Social.Broker.SPMetadata(r.Context(), t, conn)
	if err != nil {
		p.Log.WarnContext(r.Context(), "web: SAML metadata", "connection", conn.Name, "err", err)
		http.Error(w, "metadata unavailable", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(md)
}
