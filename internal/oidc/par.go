package oidc

// Pushed authorization requests (RFC 9126): the client posts its
// authorization request to /par, authenticated, and gets a one-time
// request_uri valid for 60 s; the browser then goes to
// /authorize?client_id=...&request_uri=..., which continues with exactly
// the pushed parameters through the library's usual authorization path
// (the parameters are validated at push time and again there).
//
// A pushed request is parked as a store.AuthRequest (no schema change):
// id parPrefix + hash of the request_uri's random part, Done set and no
// session, so the login flow (Flow.Load refuses Done requests) and the
// authorize callback (the session must be the request's) can do nothing
// with it. The authorize step deletes it; the one delete that succeeds is
// the single use.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	parPath          = "/par"
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	parLifetime      = 60 * time.Second
	parPrefix        = "par_"
	parMaxBody       = 64 << 10
)

// route serves what this package adds to the library's router: the PAR
// endpoint, /authorize with a request_uri and the logout confirmation. It
// answers whether it served r.
func (p *Provider) route(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case parPath:
		p.par(w, r)
		return true
	case "/authorize":
		if err := r.ParseForm(); err != nil {
			op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("error parsing form"), nil)
			return true
		}
		if strings.HasPrefix(r.Form.Get("request_uri"), requestURIPrefix) {
			p.authorizePushed(w, r)
			return true
		}
		if r.Form.Has("request") || r.Form.Has("request_uri") {
			p.authorizeRequestObject(w, r) // jar.go
			return true
		}
		if p.requireRequestObject(w, r) { // jar.go
			return true
		}
		return p.authorizeDetails(w, r) // rar.go
	case "/end_session":
		return p.confirmLogout(w, r)
	case cibaPath:
		p.backchannelAuthentication(w, r) // ciba.go
		return true
	case "/oauth/token":
		return p.cibaGrant(w, r) // ciba_token.go: the CIBA grant only
	}
	return false
}

// parRecordID is the stored id of a pushed request.
func parRecordID(random string) string {
	h := sha256.Sum256([]byte(random))
	return parPrefix + base64.RawURLEncoding.EncodeToString(h[:])
}

type parResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// par is the pushed authorization request endpoint (RFC 9126 section 2).
func (p *Provider) par(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !postOnly(w, r) { // ciba.go
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, parMaxBody)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		op.WriteError(w, r, op.NewStatusError(oidc.ErrInvalidRequest().WithDescription("the request body could not be read"), status), nil)
		return
	}
	c, ok := p.formClient(w, r)
	if !ok {
		return
	}
	form, err := p.pushedRequestObject(ctx, c, r.PostForm) // jar.go
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	rec, err := p.pushedRequest(form, c)
	if err == nil {
		rec.DPoPJKT, err = requestDPoPJKT(context.WithValue(ctx, dpopJKTKey{}, form["dpop_jkt"])) // dpopjkt.go
	}
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	var details []byte
	if raw := form.Get("authorization_details"); raw != "" { // rar.go
		if details, err = p.checkDetails(ctx, raw); err != nil {
			op.WriteError(w, r, p.storage.hide(ctx, err), nil)
			return
		}
	}
	random, err := randomToken("")
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	now := p.now()
	rec.ID, rec.Tenant, rec.CreatedAt, rec.ExpiresAt = parRecordID(random), tenantFrom(ctx).ID, now, now.Add(parLifetime)
	err = p.store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.OAuth().AuthRequests().CreateAuthRequest(ctx, rec); err != nil {
			return err
		}
		return p.keepDetails(ctx, tx, c, rec.ID, details) // rar.go
	})
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(parResponse{RequestURI: requestURIPrefix + random, ExpiresIn: int(parLifetime / time.Second)})
}

// formClient authenticates the client of a form posted to one of our
// endpoints (parClient); a failure is answered (401 for invalid_client,
// with a Basic challenge when Basic was tried).
func (p *Provider) formClient(w http.ResponseWriter, r *http.Request) (*client, bool) {
	c, err := p.parClient(r)
	if err != nil {
		if oe, ok := errors.AsType[*oidc.Error](err); ok && oe.ErrorType == oidc.InvalidClient {
			if _, _, basic := r.BasicAuth(); basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="`+p.issuer(r.Context())+`"`)
			}
			err = op.NewStatusError(err, http.StatusUnauthorized)
		}
		op.WriteError(w, r, err, nil)
		return nil, false
	}
	return c, true
}

// parClient authenticates the client exactly as the token endpoint does
// (server.VerifyClient: a secret by HTTP Basic or the form, a
// private_key_jwt assertion, or a public client by its client_id).
func (p *Provider) parClient(r *http.Request) (*client, error) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer(r.Context()))
	f := r.PostForm
	cc := &op.ClientCredentials{ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"),
		ClientAssertion: f.Get("client_assertion"), ClientAssertionType: f.Get("client_assertion_type")}
	assertion := cc.ClientAssertion != "" || cc.ClientAssertionType != ""
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if cc.ClientSecret != "" || assertion {
			return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must not use more than one method")
		}
		// As at the token endpoint, Basic names the client; a different
		// client_id in the form is refused by pushedRequest.
		id, err1 := url.QueryUnescape(bid)
		secret, err2 := url.QueryUnescape(bsecret)
		if err1 != nil || err2 != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("invalid basic auth header")
		}
		cc.ClientID, cc.ClientSecret = id, secret
	} else if assertion && cc.ClientSecret != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must not use more than one method")
	}
	if cc.ClientID == "" && !assertion {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	oc, err := p.srv.VerifyClient(ctx, &op.Request[op.ClientCredentials]{
		Method: r.Method, URL: r.URL, Header: r.Header, Form: url.Values{}, Data: cc})
	c, ok := oc.(*client)
	if err != nil || !ok {
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.ErrorType == oidc.InvalidRequest {
			return nil, oe
		}
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if cc.ClientID != "" && cc.ClientID != c.c.ID {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return c, nil
}

// pushedParams are the authorization request parameters a pushed request
// may carry; each at most once (RFC 6749 section 3.1).
var pushedParams = []string{"client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
	"response_mode", "prompt", "max_age", "login_hint", "ui_locales", "acr_values", "code_challenge",
	"code_challenge_method", "request_uri", "request", "id_token_hint", "display"}

// pushedRequest validates a pushed authorization request of c as the
// authorization endpoint will (nothing is redirected here, so the order of
// the checks does not matter) and answers it as the record to park.
func (p *Provider) pushedRequest(f url.Values, c *client) (*store.AuthRequest, error) {
	for _, k := range pushedParams {
		if len(f[k]) > 1 {
			return nil, oidc.ErrInvalidRequest().WithDescription("parameter %s repeated", k)
		}
	}
	switch {
	case f.Get("client_id") != "" && f.Get("client_id") != c.c.ID:
		return nil, oidc.ErrInvalidRequest().WithDescription("client_id does not match the authenticated client")
	case f.Has("request_uri"):
		return nil, oidc.ErrInvalidRequest().WithDescription("request_uri cannot be pushed")
	case f.Has("request"):
		return nil, oidc.ErrRequestNotSupported()
	case f.Has("id_token_hint"):
		return nil, oidc.ErrInvalidRequest().WithDescription("id_token_hint is not supported in pushed requests")
	}
	responseType := oidc.ResponseType(f.Get("response_type"))
	switch {
	case responseType == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("response_type missing")
	case responseType != oidc.ResponseTypeCode:
		e := oidc.ErrInvalidRequest().WithDescription("only response_type code is supported")
		e.ErrorType = "unsupported_response_type"
		return nil, e
	case !c.hasGrant(oidc.GrantTypeCode):
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the authorization code grant")
	}
	redirectURI := f.Get("redirect_uri")
	if len(redirectURI) > 2048 {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is too long")
	}
	if err := op.ValidateAuthReqRedirectURI(c, redirectURI, responseType); err != nil {
		return nil, err
	}
	rec := &store.AuthRequest{
		ClientID: c.c.ID, RedirectURI: redirectURI, ResponseType: string(responseType),
		State: f.Get("state"), Nonce: f.Get("nonce"), ResponseMode: f.Get("response_mode"),
		CodeChallenge: f.Get("code_challenge"), CodeChallengeMethod: f.Get("code_challenge_method"),
		Prompt: strings.Fields(f.Get("prompt")), LoginHint: f.Get("login_hint"),
		UILocales: strings.Fields(f.Get("ui_locales")), ACRValues: strings.Fields(f.Get("acr_values")),
		Done: true, // parked: see the package comment above
	}
	switch rec.ResponseMode {
	case "", string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost):
	default:
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or form_post")
	}
	switch {
	case rec.CodeChallenge == "" && rec.CodeChallengeMethod != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case rec.CodeChallenge != "" && rec.CodeChallengeMethod != string(oidc.CodeChallengeMethodS256):
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case rec.CodeChallenge == "" && (c.c.Public || c.c.Security.FAPI2()):
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public and FAPI 2.0 clients")
	case rec.CodeChallenge != "" && !validChallenge(rec.CodeChallenge):
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is malformed")
	case len(rec.State) > 2048 || len(rec.Nonce) > 512 || len(rec.LoginHint) > 254 || len(f.Get("scope")) > 2048 ||
		len(rec.Prompt) > 4 || len(rec.UILocales) > 16 || len(rec.ACRValues) > 16:
		return nil, oidc.ErrInvalidRequest().WithDescription("a parameter is too long")
	}
	var maxAge *uint
	if s := f.Get("max_age"); s != "" {
		v, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return nil, oidc.ErrInvalidRequest().WithDescription("max_age must be a number of seconds")
		}
		u := uint(v)
		maxAge = &u
		d := time.Duration(v) * time.Second
		rec.MaxAge = &d
	}
	if _, err := op.ValidateAuthReqPrompt(rec.Prompt, maxAge); err != nil {
		return nil, err
	}
	scopes, err := op.ValidateAuthReqScopes(c, strings.Fields(f.Get("scope")))
	if err != nil {
		return nil, err
	}
	rec.Scopes = scopes
	return rec, nil
}

// validChallenge: 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 4.2).
func validChallenge(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == '~':
		default:
			return false
		}
	}
	return true
}

// errRequestURI is the refusal of an unusable request_uri; never
// redirected, since the pushed redirect URI is unknown then.
func errRequestURI(desc string) *oidc.Error {
	e := oidc.ErrInvalidRequestRedirectURI().WithDescription("%s", desc)
	e.ErrorType = "invalid_request_uri"
	return e
}

// authorizePushed continues an authorization request made by reference to
// a pushed one: single use, unexpired and of the same client_id; then the
// library's authorization path runs with the pushed parameters only (RFC
// 9126 section 4: any other parameter sent now is ignored).
func (p *Provider) authorizePushed(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t := tenantFrom(ctx)
	clientID := r.Form.Get("client_id")
	if clientID == "" {
		op.WriteError(w, r, oidc.ErrInvalidRequestRedirectURI().WithDescription("client_id missing"), nil)
		return
	}
	random, ok := strings.CutPrefix(r.Form.Get("request_uri"), requestURIPrefix)
	if !ok || len(random) != 43 {
		op.WriteError(w, r, errRequestURI("request_uri is unknown, expired or already used"), nil)
		return
	}
	ars := p.store.OAuth().AuthRequests()
	id := parRecordID(random)
	rec, err := ars.GetAuthRequest(ctx, t.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && (!rec.Done || rec.SessionID != "" || rec.CodeHash != nil):
		op.WriteError(w, r, errRequestURI("request_uri is unknown, expired or already used"), nil)
		return
	case err != nil:
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	case rec.ClientID != clientID:
		op.WriteError(w, r, errRequestURI("request_uri was pushed by another client"), nil)
		return
	}
	if err := ars.DeleteAuthRequest(ctx, t.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			op.WriteError(w, r, errRequestURI("request_uri is unknown, expired or already used"), nil)
		} else {
			op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		}
		return
	}
	pctx := withPushed(ctx) // fapi.go
	r2 := r.Clone(pctx)
	if d := p.approvedOrPending(ctx, t.ID, id); d != nil { // rar.go: the pushed details
		r2 = r2.WithContext(withDetails(pctx, d))
	}
	r2.Method = http.MethodGet
	r2.Body, r2.ContentLength, r2.Form, r2.PostForm = http.NoBody, 0, nil, nil
	r2.Header.Del("Content-Type")
	r2.URL.RawQuery = pushedQuery(rec).Encode()
	p.handler.ServeHTTP(w, r2)
}

// pushedQuery turns a parked request back into authorization parameters.
func pushedQuery(a *store.AuthRequest) url.Values {
	q := url.Values{"client_id": {a.ClientID}, "redirect_uri": {a.RedirectURI}, "response_type": {a.ResponseType}}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("scope", strings.Join(a.Scopes, " "))
	set("state", a.State)
	set("nonce", a.Nonce)
	set("response_mode", a.ResponseMode)
	set("code_challenge", a.CodeChallenge)
	set("code_challenge_method", a.CodeChallengeMethod)
	set("prompt", strings.Join(a.Prompt, " "))
	set("login_hint", a.LoginHint)
	set("ui_locales", strings.Join(a.UILocales, " "))
	set("acr_values", strings.Join(a.ACRValues, " "))
	set("dpop_jkt", a.DPoPJKT) // dpopjkt.go
	if a.MaxAge != nil {
		q.Set("max_age", strconv.FormatInt(int64(*a.MaxAge/time.Second), 10))
	}
	return q
}
