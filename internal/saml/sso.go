package saml

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"

	crewjam "github.com/crewjam/saml"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// MFA-grade authentication context classes: a request naming one is
// recorded as acr "mfa" on the flow request, so the login steps up.
var mfaClasses = []string{
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
	"https://refeds.org/profile/mfa",
	"http://schemas.microsoft.com/claims/multipleauthn",
}

// sso receives an AuthnRequest (HTTP-Redirect or HTTP-POST). The guard
// screens it first; crewjam then checks destination, time, version,
// issuer, signature (required when the provider signs) and the ACS URL
// against the registration, and only then asks sessions.GetSession, which
// records the request and sends the browser to the login flow.
func (p *IdP) sso(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	p.screened(w, r, t, "SAMLRequest", func(idp *crewjam.IdentityProvider) { idp.ServeSSO(w, r) })
}

// screened hands r to serve only once the guard has accepted its message
// param; serve gets the tenant's crewjam provider.
func (p *IdP) screened(w http.ResponseWriter, r *http.Request, t *store.Tenant, param string, serve func(*crewjam.IdentityProvider)) {
	if _, err := readMessage(r, param); err != nil {
		p.refuse(w, r, t, err)
		return
	}
	idp, err := p.provider(r.Context(), t)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	serve(idp)
}

func (p *IdP) refuse(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	p.cfg.Log.InfoContext(r.Context(), "saml: message refused", "tenant", t.Slug, "err", err,
		"request_id", httpx.RequestID(r.Context()))
	p.errorPage(w, r, http.StatusBadRequest, "saml.request_refused")
}

// sessions is crewjam's SessionProvider (and logout's helpers) for one
// tenant. GetSession never answers a session directly: every login,
// reused session or not, goes through the flow like an OIDC authorize.
type sessions struct {
	p *IdP
	t *store.Tenant
}

func (s *sessions) GetSession(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest) *crewjam.Session {
	ctx := r.Context()
	sp, err := s.p.cfg.Store.SAML().ServiceProviders().GetSPByEntityID(ctx, s.t.ID, req.ServiceProviderMetadata.EntityID)
	if err != nil {
		s.p.fail(w, r, err)
		return nil
	}
	pending := &store.SAMLRequest{
		Tenant: s.t.ID, SPID: sp.ID, RequestID: req.Request.ID, ACSURL: req.ACSEndpoint.Location,
		ACSBinding: req.ACSEndpoint.Binding, RelayState: req.RelayState,
		ForceAuthn: req.Request.ForceAuthn != nil && *req.Request.ForceAuthn,
		IsPassive:  req.Request.IsPassive != nil && *req.Request.IsPassive,
	}
	if rac := req.Request.RequestedAuthnContext; rac != nil {
		pending.AuthnContext, pending.AuthnContextComparison = rac.ClassRefs(), rac.Comparison
	}
	if pol := req.Request.NameIDPolicy; pol != nil && pol.Format != nil {
		pending.NameIDFormat = *pol.Format
	}
	st, err := s.p.start(ctx, s.t, pending)
	if errors.Is(err, store.ErrConflict) {
		s.p.refuse(w, r, s.t, errors.New("saml: replayed AuthnRequest ID"))
		return nil
	}
	if err != nil {
		s.p.fail(w, r, err)
		return nil
	}
	http.Redirect(w, r, "/t/"+s.t.Slug+"/login?id="+url.QueryEscape(st.LoginID), http.StatusFound)
	return nil
}

// started is a pending SAML request and the id of the flow's login
// request that serves it.
type started struct {
	*store.SAMLRequest
	LoginID string
}

// start stores a pending request and the flow's login request (origin
// saml, returning to the pending request), in one transaction.
// ErrConflict: the provider used this request ID before (a replay).
func (p *IdP) start(ctx context.Context, t *store.Tenant, pending *store.SAMLRequest) (started, error) {
	now := p.cfg.Now().UTC()
	pending.ID = uuid.Must(uuid.NewV7()).String()
	pending.CreatedAt, pending.ExpiresAt = now, now.Add(requestTTL)
	login := &store.LoginRequest{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: t.ID, Origin: flow.OriginSAML, Return: pending.ID,
		SPID: pending.SPID, ReturnURI: pending.ACSURL, CreatedAt: now, ExpiresAt: pending.ExpiresAt,
	}
	if pending.ForceAuthn {
		login.Prompt = append(login.Prompt, "login")
	}
	if pending.IsPassive {
		login.Prompt = append(login.Prompt, "none")
	}
	for _, c := range pending.AuthnContext {
		if slices.Contains(mfaClasses, c) {
			login.ACRValues = []string{"mfa"}
		}
	}
	err := p.cfg.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.SAML().Requests().CreateRequest(ctx, pending); err != nil {
			return err
		}
		return tx.Logins().CreateLoginRequest(ctx, login)
	})
	return started{pending, login.ID}, err
}

// launch starts an IdP-initiated login to a registered provider: the
// response goes, unsolicited, to its default assertion consumer service,
// with the provider's registered default RelayState. The query's
// RelayState is ignored: anyone can craft a launch link, and a RelayState
// from it would let them send the user wherever they like after sign-in
// (an open redirect). The account page's app
// launcher links here (samlreg.LaunchPath).
func (p *IdP) launch(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	sp, err := p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, t.ID, r.PathValue("sp"))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.fail(w, r, err)
			return
		}
		p.errorPage(w, r, http.StatusNotFound, "saml.app_unavailable")
		return
	}
	acs := defaultACS(sp)
	pending := &store.SAMLRequest{Tenant: t.ID, SPID: sp.ID, ACSURL: acs.Location, ACSBinding: acs.Binding,
		RelayState: sp.DefaultRelayState}
	st, err := p.start(ctx, t, pending)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/t/"+t.Slug+"/login?id="+url.QueryEscape(st.LoginID), http.StatusFound)
}

// defaultACS is the provider's default endpoint: the one marked default,
// else the lowest index (saml-metadata 2.2.3).
func defaultACS(sp *store.SAMLServiceProvider) store.SAMLEndpoint {
	best := sp.ACS[0]
	for _, e := range sp.ACS {
		if e.Default {
			return e
		}
		if e.Index < best.Index {
			best = e
		}
	}
	return best
}

// Return is where the hosted pages send the browser when the login is
// done (the origin handler of flow.OriginSAML).
func (p *IdP) Return(t *store.Tenant, login *store.LoginRequest) string {
	return "/t/" + t.Slug + "/saml/continue?id=" + url.QueryEscape(login.ID)
}

// continueLogin finishes a login: the browser must hold the session the
// flow completed with; the pending request is consumed once (a second
// visit gets an error page), and the response goes to the ACS URL the
// request was validated with.
func (p *IdP) continueLogin(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	gone := "error.request_invalid"
	sess, err := p.cfg.Sessions.Lookup(ctx, t.ID, p.cookie(r, t))
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.other_browser")
		return
	}
	login, err := p.cfg.Flow.Take(ctx, t.ID, id, sess.ID)
	if err != nil || login.Origin != flow.OriginSAML {
		p.errorPage(w, r, http.StatusBadRequest, gone)
		return
	}
	pending, err := p.cfg.Store.SAML().Requests().ConsumeRequest(ctx, t.ID, login.Return)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, gone)
		return
	}
	p.finish(w, r, t, pending, sess)
}

func (p *IdP) cookie(r *http.Request, t *store.Tenant) string {
	if c, err := r.Cookie(p.cfg.SessionCookie(t.Slug)); err == nil {
		return c.Value
	}
	return ""
}

// Deny answers the provider with a SAML error Response: NoPassive when a
// passive request found no session (login_required), RequestDenied
// otherwise.
func (p *IdP) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, login *store.LoginRequest, code, _ string) {
	ctx := r.Context()
	p.cfg.Flow.Drop(ctx, t.ID, login.ID)
	pending, err := p.cfg.Store.SAML().Requests().ConsumeRequest(ctx, t.ID, login.Return)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.request_invalid")
		return
	}
	idp, req, err := p.rebuild(r, t, pending)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	status := &crewjam.StatusError{TopLevel: crewjam.StatusResponder, SecondLevel: crewjam.StatusRequestDenied}
	if code == "login_required" {
		status.SecondLevel = crewjam.StatusNoPassive
	}
	if err := idp.SendErrorResponse(w, req, status); err != nil {
		p.fail(w, r, err)
	}
}

// rebuild recreates crewjam's view of a pending request: its provider,
// the ACS endpoint it was validated with, and what it asked for.
func (p *IdP) rebuild(r *http.Request, t *store.Tenant, pending *store.SAMLRequest) (*crewjam.IdentityProvider, *crewjam.IdpAuthnRequest, error) {
	ctx := r.Context()
	sp, err := p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, t.ID, pending.SPID)
	if err != nil {
		return nil, nil, err
	}
	ed, err := describe(sp)
	if err != nil {
		return nil, nil, err
	}
	// The registration may have changed since: answer only an ACS URL it
	// still lists.
	if !slices.ContainsFunc(sp.ACS, func(e store.SAMLEndpoint) bool { return e.Location == pending.ACSURL }) {
		return nil, nil, errors.New("saml: the ACS URL of the request is no longer registered")
	}
	idp, err := p.provider(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	req := &crewjam.IdpAuthnRequest{
		IDP: idp, HTTPRequest: r, RelayState: pending.RelayState, Now: p.cfg.Now().UTC(),
		ServiceProviderMetadata: ed, SPSSODescriptor: &ed.SPSSODescriptors[0],
		ACSEndpoint: &crewjam.IndexedEndpoint{Binding: pending.ACSBinding, Location: pending.ACSURL},
		Request:     crewjam.AuthnRequest{ID: pending.RequestID, IssueInstant: pending.CreatedAt, Version: "2.0"},
	}
	if len(pending.AuthnContext) > 0 {
		req.Request.RequestedAuthnContext = &crewjam.RequestedAuthnContext{
			Comparison: pending.AuthnContextComparison, AuthnContextClassRefs: pending.AuthnContext,
		}
	}
	return idp, req, nil
}

// finish makes the assertion for the session's user and posts the
// response to the provider, recording the provider as a participant of
// the session for single logout.
func (p *IdP) finish(w http.ResponseWriter, r *http.Request, t *store.Tenant, pending *store.SAMLRequest, sess *store.Session) {
	ctx := r.Context()
	idp, req, err := p.rebuild(r, t, pending)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	sp, err := p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, t.ID, pending.SPID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	u, err := p.cfg.Store.Users().GetUser(ctx, t.ID, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		p.errorPage(w, r, http.StatusForbidden, "saml.account_inactive")
		return
	}
	session, err := p.samlSession(ctx, t, sp, u, sess)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if err := (crewjam.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		var statusErr *crewjam.StatusError
		if errors.As(err, &statusErr) { // e.g. NoAuthnContext: MFA asked, password done
			if err := idp.SendErrorResponse(w, req, statusErr); err != nil {
				p.fail(w, r, err)
			}
			return
		}
		p.fail(w, r, err)
		return
	}
	err = p.cfg.Store.SAML().Participants().AddParticipant(ctx, &store.SAMLParticipant{
		Tenant: t.ID, SessionID: sess.ID, SPID: sp.ID, NameID: session.NameID, NameIDFormat: session.NameIDFormat,
		SessionIndex: session.Index,
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if err := idp.ResponseWriter.WriteResponse(w, req); err != nil {
		p.fail(w, r, err)
	}
}

// samlSession is crewjam's Session for user u at provider sp: NameID in
// the provider's format, attributes by its mapping, the authentication
// context the login actually reached.
func (p *IdP) samlSession(ctx context.Context, t *store.Tenant, sp *store.SAMLServiceProvider, u *store.User, sess *store.Session) (*crewjam.Session, error) {
	s := &crewjam.Session{
		ID: sess.ID, CreateTime: sess.AuthTime, ExpireTime: sess.ExpiresAt, Index: p.sessionIndex(t, sess.ID),
		NameIDFormat: sp.NameIDFormat,
		// Password logins are PasswordProtectedTransport; a second factor
		// raises this, and the library refuses requests that ask for more
		// than was done (NoAuthnContext).
		AuthnContextClassRef: authnContextFor(sess.AMR),
	}
	switch sp.NameIDFormat {
	case samlreg.NameIDPersistent:
		s.NameID = p.pairwise(t, sp.EntityID, u.ID)
	case samlreg.NameIDTransient:
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s.NameID = "_" + hex.EncodeToString(b)
	default: // emailAddress, unspecified
		s.NameID = u.Email
	}
	attrs, err := p.attributes(ctx, t, sp, u)
	if err != nil {
		return nil, err
	}
	s.CustomAttributes = attrs
	return s, nil
}

// authnContextFor is the AuthnContextClassRef a login with amr reached:
// two-factor only after a second factor (amr "mfa"), not for two first
// factors nor a passkey without user verification.
func authnContextFor(amr []string) string {
	if mfa.Satisfied(amr) {
		return "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
	}
	return "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
}
