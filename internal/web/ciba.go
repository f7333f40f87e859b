package web

// The CIBA approval page (OpenID CIBA Core 1.0): the user opens the
// mailed link, signs in through the usual login (every step applies; the
// hint's account is prefilled), meets the client's MFA policy (a second
// factor, which offers their passkey, is asked of a user who has one and
// has not used it in this session), sees the client, the binding message
// and the scopes, and approves or denies. Only the user the request names
// can answer it.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// CIBAProtocol is what the approval page needs from the OpenID provider.
type CIBAProtocol interface {
	// CIBAByApproval answers the pending request of a mailed link's
	// secret, CIBAByID the pending request of an id; store.ErrNotFound
	// when there is none (unknown, expired, already answered).
	CIBAByApproval(ctx context.Context, t *store.Tenant, secret string) (*store.CIBARequest, error)
	CIBAByID(ctx context.Context, t *store.Tenant, id string) (*store.CIBARequest, error)
	// DecideCIBA records the answer of the session's user, who must be the
	// request's; store.ErrNotFound otherwise.
	DecideCIBA(ctx context.Context, t *store.Tenant, id string, sess *store.Session, approve bool) error
}

var cibaPage = ui.Parse(templateFS, "templates/ciba_confirm.html")

type cibaView struct {
	view
	ID, Account, Binding string
	Scopes               []string
}

// CIBAOrigin hands a finished approval sign-in back to the approval page.
type CIBAOrigin struct{}

var _ Origin = CIBAOrigin{}

// Return is the approval page of the request.
func (CIBAOrigin) Return(t *store.Tenant, req *store.LoginRequest) string {
	return "/t/" + t.Slug + "/ciba?id=" + url.QueryEscape(req.Return) + "&login=" + url.QueryEscape(req.ID)
}

// Deny: a refused sign-in leaves the CIBA request pending until the user
// answers or it expires.
func (CIBAOrigin) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, _, _ string) {
	http.Redirect(w, r, "/t/"+t.Slug+"/ciba?id="+url.QueryEscape(req.Return), http.StatusSeeOther)
}

// cibaLoginTTL bounds an approval sign-in (and never outlives the request).
const cibaLoginTTL = 10 * time.Minute

// cibaRequest is the login request of c: the client's MFA policy and
// acr_values, plus "mfa" for a user with a passkey whose session has not
// used it, so that the second-factor step (which offers it) is asked.
func (p *Pages) cibaRequest(ctx context.Context, t *store.Tenant, c *store.CIBARequest, sess *store.Session) *store.LoginRequest {
	exp := time.Now().Add(cibaLoginTTL)
	if c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt
	}
	acr := slices.Clone(c.ACRValues)
	if (sess == nil || !slices.Contains(sess.AMR, "hwk")) && !slices.Contains(acr, "mfa") && p.hasPasskey(ctx, t, c.UserID) {
		acr = append(acr, "mfa")
	}
	return &store.LoginRequest{Tenant: t.ID, Origin: flow.OriginCIBA, Return: c.ID, ClientID: c.ClientID,
		Scopes: c.Scopes, ACRValues: acr, ExpiresAt: exp}
}

func (p *Pages) hasPasskey(ctx context.Context, t *store.Tenant, userID string) bool {
	fs, err := p.Store.MFA().Factors().ListFactors(ctx, t.ID, userID)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorWebAuthn })
}

// cibaForm: GET /t/{tenant}/ciba?token=... (the mailed link) or
// ?id=...[&login=...] (back from the sign-in).
func (p *Pages) cibaForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	q := r.URL.Query()
	var (
		c   *store.CIBARequest
		err error
	)
	byLink := q.Has("token")
	if byLink {
		c, err = p.CIBA.CIBAByApproval(ctx, t, q.Get("token"))
	} else {
		c, err = p.CIBA.CIBAByID(ctx, t, q.Get("id"))
	}
	if err != nil {
		p.cibaError(w, r, t, err)
		return
	}
	sess := p.currentSession(ctx, r, t)
	if id := q.Get("login"); id != "" && sess != nil { // back from the sign-in: its request is spent
		_, _ = p.Flow.Take(ctx, t.ID, id, sess.ID)
	}
	if sess == nil || sess.UserID != c.UserID {
		if !byLink && sess != nil {
			p.message(w, r, t, http.StatusForbidden, "ciba.other_account_title", "ciba.other_account_body")
			return
		}
		p.cibaSignIn(w, r, t, c, sess, byLink)
		return
	}
	if !p.cibaMFA(w, r, t, c, sess) {
		return
	}
	p.showCIBA(w, r, t, c, sess)
}

// cibaSignIn starts the sign-in of the request's user: the account is
// prefilled only for the mailed link's holder, and another account's
// session must sign in again (prompt=login).
func (p *Pages) cibaSignIn(w http.ResponseWriter, r *http.Request, t *store.Tenant, c *store.CIBARequest, sess *store.Session, byLink bool) {
	ctx := r.Context()
	req := p.cibaRequest(ctx, t, c, nil)
	if byLink {
		if u, err := p.Store.Users().GetUser(ctx, t.ID, c.UserID); err == nil {
			req.LoginHint = u.Email
		}
	}
	if sess != nil {
		req.Prompt = []string{"login"}
	}
	if err := p.Flow.Start(ctx, req); err != nil {
		p.cibaError(w, r, t, err)
		return
	}
	http.Redirect(w, r, "/t/"+t.Slug+"/login?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
}

func (p *Pages) cibaMFA(w http.ResponseWriter, r *http.Request, t *store.Tenant, c *store.CIBARequest, sess *store.Session) bool {
	return p.sessionMeetsPolicy(w, r, t, p.cibaRequest(r.Context(), t, c, sess), sess, "ciba", // device_mfa.go
		func(err error) { p.cibaError(w, r, t, err) })
}

func (p *Pages) showCIBA(w http.ResponseWriter, r *http.Request, t *store.Tenant, c *store.CIBARequest, sess *store.Session) {
	ctx := r.Context()
	f := ui.FrameFor(r, t, nil, "ciba.title")
	account := ""
	if u, err := p.Store.Users().GetUser(ctx, t.ID, sess.UserID); err == nil {
		account = u.Email
	}
	v := cibaView{view: view{Frame: f, ClientName: p.clientName(ctx, t, c.ClientID), Action: "/t/" + t.Slug + "/ciba",
		CSRF: p.csrf(w, r)}, ID: c.ID, Account: account, Binding: c.BindingMessage, Scopes: scopeTexts(f, c.Scopes)}
	w.Header().Set("Cache-Control", "no-store")
	cibaPage.Render(w, p.Log, http.StatusOK, v.Lang, v)
}

// cibaSubmit: POST /t/{tenant}/ciba with id and action approve or deny.
func (p *Pages) cibaSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	if !p.readForm(w, r, t, "ciba.problem") {
		return
	}
	action := r.PostFormValue("action")
	if action != "approve" && action != "deny" {
		p.message(w, r, t, http.StatusBadRequest, "ciba.problem", "ciba.choose")
		return
	}
	c, err := p.CIBA.CIBAByID(ctx, t, r.PostFormValue("id"))
	if err != nil {
		p.cibaError(w, r, t, err)
		return
	}
	sess := p.currentSession(ctx, r, t)
	if sess == nil || sess.UserID != c.UserID {
		p.message(w, r, t, http.StatusForbidden, "ciba.other_account_title", "ciba.other_account_body")
		return
	}
	// Denying needs no second factor; approving needs the policy met.
	approve := action == "approve"
	if approve && !p.cibaMFA(w, r, t, c, sess) {
		return
	}
	if err := p.CIBA.DecideCIBA(ctx, t, c.ID, sess, approve); err != nil {
		p.cibaError(w, r, t, err)
		return
	}
	client := p.clientName(ctx, t, c.ClientID)
	if approve {
		p.message(w, r, t, http.StatusOK, "ciba.approved_title", "ciba.approved_body", "client", client)
		return
	}
	p.message(w, r, t, http.StatusOK, "ciba.denied_title", "ciba.denied_body", "client", client)
}

// cibaError: store.ErrNotFound means the request ended (or never was).
func (p *Pages) cibaError(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, flow.ErrRequestGone) {
		p.message(w, r, t, http.StatusBadRequest, "ciba.expired_title", "ciba.expired_body")
		return
	}
	p.Log.ErrorContext(r.Context(), "web: ciba", "err", err, "request_id", httpx.RequestID(r.Context()))
	p.message(w, r, t, http.StatusInternalServerError, "ciba.problem", "error.generic")
}
