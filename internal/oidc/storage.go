package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authRequestTTL bounds how long a login may take (a request made at
// /authorize starts with unopenedTTL, pending.go).
const authRequestTTL = flow.OpenedTTL

// maxScopes bounds the scopes of one request (an unauthenticated caller
// chooses them, and they are stored).
const maxScopes = 50

// storage implements op.Storage over Gatehouse's stores. Every method
// learns its tenant from the context (see Provider.ServeHTTP) and returns
// only *oidc.Error values, so no internal text reaches a client: the op
// library copies a plain error's text into error_description.
type storage struct {
	p *Provider
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// hide turns an unexpected error into a bare server_error, logging it.
func (s *storage) hide(ctx context.Context, err error) error {
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return err
	}
	if be, ok := busyError(ctx, err); ok { // busy.go
		s.p.log.WarnContext(ctx, "oidc: database busy", "err", err)
		return be
	}
	if httpx.ClientGone(ctx, err) {
		// Nobody reads the answer; temporarily_unavailable keeps the
		// library from logging it as a server fault.
		s.p.log.InfoContext(ctx, "oidc: client went away", "err", err)
		return &oidc.Error{ErrorType: temporarilyUnavailable, Description: "request cancelled", Parent: err}
	}
	s.p.log.ErrorContext(ctx, "oidc: internal error", "err", err)
	return oidc.ErrServerError().WithParent(err).WithDescription("internal error")
}

func (s *storage) tenant(ctx context.Context) store.TenantID {
	if t := tenantFrom(ctx); t != nil {
		return t.ID
	}
	return "" // matches nothing: every store call is tenant-scoped
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	c, err := s.client(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	if err := fapiAuthorize(ctx, c); err != nil { // fapi.go
		return nil, err
	}
	switch {
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery && req.ResponseMode != oidc.ResponseModeFormPost:
		// Refused, not quietly answered in the query; the refusal itself
		// goes in the query, a mode this server speaks.
		req.ResponseMode = oidc.ResponseModeQuery
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or form_post")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge == "" && c.c.Public:
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public clients")
	case len(req.CodeChallenge) > 128 || len(req.State) > 2048 || len(req.Nonce) > 512 || len(req.LoginHint) > 254:
		return nil, oidc.ErrInvalidRequest().WithDescription("a parameter is too long")
	case len(req.Scopes) > maxScopes || len(req.ACRValues) > 10 || len(req.UILocales) > 10 || len(req.Prompt) > 4:
		return nil, oidc.ErrInvalidRequest().WithDescription("too many values in a parameter")
	}
	for _, sc := range req.Scopes {
		if len(sc) > 128 {
			return nil, oidc.ErrInvalidScope().WithDescription("a scope is too long")
		}
	}
	for _, v := range req.ACRValues {
		if len(v) > 128 {
			return nil, oidc.ErrInvalidRequest().WithDescription("an acr value is too long")
		}
	}
	jkt, err := requestDPoPJKT(ctx) // dpopjkt.go
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	now := s.p.now()
	r := &store.AuthRequest{DPoPJKT: jkt,
		ID: id.String(), Tenant: s.tenant(ctx), ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		Scopes: req.Scopes, State: req.State, Nonce: req.Nonce, ResponseType: string(req.ResponseType),
		ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod), Prompt: req.Prompt,
		LoginHint: req.LoginHint, ACRValues: req.ACRValues, UserID: userID,
		CreatedAt: now, ExpiresAt: now.Add(unopenedTTL), Source: sourceFrom(ctx), // pending.go
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		r.MaxAge = &d
	}
	for _, l := range req.UILocales {
		r.UILocales = append(r.UILocales, l.String())
	}
	// The login request of the flow, named after this authorization
	// request so the library's login URL leads to it; both in one
	// transaction.
	login := &store.LoginRequest{ID: r.ID, Tenant: r.Tenant, Origin: flow.OriginOIDC, Return: r.ID, ClientID: r.ClientID,
		ReturnURI: r.RedirectURI, Scopes: r.Scopes, Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint,
		UILocales: r.UILocales, ACRValues: r.ACRValues, CreatedAt: now, ExpiresAt: r.ExpiresAt}
	err = s.p.store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.OAuth().AuthRequests().CreateAuthRequest(ctx, r); err != nil {
			return err
		}
		if err := s.p.keepDetails(ctx, tx, c, r.ID, detailsFrom(ctx)); err != nil { // rar.go
			return err
		}
		return tx.Logins().CreateLoginRequest(ctx, login)
	})
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	return authRequest{r}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.p.store.OAuth().AuthRequests().GetAuthRequest(ctx, s.tenant(ctx), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
	}
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	return authRequest{r}, nil
}

// AuthRequestByCode is not used: Server.CodeExchange consumes codes itself
// (single use, decided in the database).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return nil, oidc.ErrInvalidGrant()
}

// SaveAuthCode stores only the code's hash.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	_, err := s.p.store.OAuth().AuthRequests().UpdateAuthRequest(ctx, s.tenant(ctx), id, func(r *store.AuthRequest) error {
		r.CodeHash = sha(code)
		return nil
	})
	if err != nil {
		return s.hide(ctx, err)
	}
	return nil
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	err := s.p.store.OAuth().AuthRequests().DeleteAuthRequest(ctx, s.tenant(ctx), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.hide(ctx, err)
	}
	return nil
}

// CreateAccessToken and CreateAccessAndRefreshTokens back the library's own
// token paths, which Server replaces; they refuse rather than mint tokens
// by another route.
func (s *storage) CreateAccessToken(ctx context.Context, _ op.TokenRequest) (string, time.Time, error) {
	return "", time.Time{}, oidc.ErrServerError().WithDescription("unsupported token path")
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, _ op.TokenRequest, _ string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrServerError().WithDescription("unsupported token path")
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, _ string) (op.RefreshTokenRequest, error) {
	return nil, oidc.ErrInvalidGrant()
}

// TerminateSession is the library's fallback; TerminateSessionFromRequest
// is what runs.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return nil
}

// TerminateSessionFromRequest ends the browser's session (and everything
// issued under it) and tells back-channel clients.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	sid := s.p.browserSessionID(ctx) // logoutchain.go
	if err := s.p.endBrowserSession(ctx, s.tenant(ctx), sessionTokenFrom(ctx)); err != nil {
		return "", s.hide(ctx, err)
	}
	ret := req.RedirectURI
	if ret == "" {
		ret = s.p.loggedOutURL(ctx)
	}
	return s.p.afterLogout(ctx, sid, ret), nil // the SAML providers of the session too
}

// RevokeToken revokes a refresh token's family (JWT access tokens are
// revoked by server.Revocation, jwtaccess.go). Per RFC 7009 an unknown
// token is not an error.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	tn := s.tenant(ctx)
	toks := s.p.store.OAuth().Tokens()
	// A refresh token id from GetRefreshTokenInfo: revoke its family.
	if rt, err := toks.GetRefreshToken(ctx, tn, sha(tokenOrID)); err == nil {
		if rt.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
		}
		if err := toks.RevokeFamily(ctx, tn, rt.FamilyID); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
	}
	return nil
}

// GetRefreshTokenInfo answers the refresh token itself as its "id", so
// RevokeToken can find it by hash.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	rt, err := s.p.store.OAuth().Tokens().GetRefreshToken(ctx, s.tenant(ctx), sha(token))
	if err != nil || rt.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.UserID, token, nil
}

// SigningKey is the key the library signs with on its own (nothing of ours
// goes through it); the tenant's RS256 key.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.p.keys.signer(ctx, s.tenant(ctx), "RS256")
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	return k, nil
}

func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	return supportedAlgs, nil
}

var supportedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	tk, err := s.p.keys.get(ctx, s.tenant(ctx))
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	enc, err := s.p.publicEncKey(s.tenant(ctx)) // jar.go
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	return append(slices.Clip(tk.public), enc), nil
}

func (s *storage) client(ctx context.Context, id string) (*client, error) {
	if isMetadataClientID(id) {
		return s.metadataClient(ctx, id) // cimd.go
	}
	if id == "" || len(id) > 128 {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	c, err := s.p.store.OAuth().Clients().GetClient(ctx, s.tenant(ctx), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, s.hide(ctx, err)
	}
	return &client{c: c, loginURL: s.p.issuer(ctx) + "/login"}, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	return s.client(ctx, id)
}

// AuthorizeClientIDSecret compares the secret's hash in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.authenticate(ctx, id, secret)
	return err
}

func (s *storage) authenticate(ctx context.Context, id, secret string) (*client, error) {
	c, err := s.client(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	// A secret authenticates only a client registered for one (a public
	// or private_key_jwt client cannot fall back to it).
	if c.c.Public || len(c.c.SecretHash) == 0 || !usesSecret(c) ||
		subtle.ConstantTimeCompare(sha(secret), c.c.SecretHash) != 1 {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return c, nil
}

func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	return s.authenticate(ctx, id, secret)
}

// ClientCredentialsTokenRequest is not used: Server mints these tokens.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	return nil, oidc.ErrServerError().WithDescription("unsupported token path")
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return s.p.fillUserinfo(ctx, info, userID, s.clientRecord(ctx, clientID), scopes)
}

// SetUserinfoFromToken and SetIntrospectionFromToken are not used:
// server.UserInfo and server.Introspect verify the token themselves
// (jwtaccess.go), as a token id alone no longer finds a record.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	return oidc.ErrAccessDenied().WithDescription("access token invalid")
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	return oidc.ErrAccessDenied()
}

// introspect describes a live access token (RFC 7662) to clientID, the
// authenticated caller; the caller answers active=false for any error, so
// a client that may not learn about the token cannot tell it from an
// invalid one (RFC 7662 2.2, 4).
func (s *storage) introspect(ctx context.Context, resp *oidc.IntrospectionResponse, claims *oidc.AccessTokenClaims, at store.AccessTokenRef, clientID string) error {
	if !s.mayIntrospect(ctx, clientID, at.ClientID) {
		return oidc.ErrAccessDenied()
	}
	scopes := []string(claims.Scopes)
	// A disabled or locked user's tokens are inactive. With openid the
	// user's claims join the answer, and reading them checks the status
	// too: one read of the user either way, from the user cache (a change
	// of the user reaches it at once on every node, a second at most).
	var info *oidc.UserInfo
	switch {
	case at.UserID != "" && slices.Contains(scopes, oidc.ScopeOpenID):
		info = new(oidc.UserInfo)
		if err := s.p.fillUserinfoCached(ctx, info, at.UserID, s.clientRecord(ctx, at.ClientID), scopes); err != nil {
			return oidc.ErrAccessDenied()
		}
	case at.UserID != "":
		u, err := s.p.store.Users().GetUserCached(ctx, s.tenant(ctx), at.UserID)
		if err != nil || u.Status != store.UserActive {
			return oidc.ErrAccessDenied()
		}
	}
	resp.Scope = scopes
	resp.ClientID = at.ClientID
	resp.TokenType = "Bearer"
	resp.Expiration = oidc.FromTime(at.ExpiresAt)
	resp.Subject = claims.Subject
	resp.Issuer = s.p.issuer(ctx)
	resp.Audience = []string{at.ClientID}
	resp.JWTID = at.ID
	if info != nil {
		resp.SetUserInfo(info)
	}
	return nil
}

// mayIntrospect: the token's own client may learn about it, and so may a
// client of the tenant registered as a resource server (introspection
// "audience"); the store lookup is tenant-scoped, so another tenant's
// client is never one.
func (s *storage) mayIntrospect(ctx context.Context, clientID, tokenClient string) bool {
	if clientID == tokenClient {
		return true
	}
	c := s.clientRecord(ctx, clientID)
	return c != nil && !c.Public && c.Introspection == oauthclient.IntrospectAudience
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID finds a private_key_jwt client's key.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if len(c.c.JWKS) == 0 || jsonUnmarshal(c.c.JWKS, &set) != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client has no keys")
	}
	keys := set.Key(keyID)
	if len(keys) != 1 {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown key")
	}
	return &keys[0], nil
}

// ValidateJWTProfileScopes: the JWT bearer grant is not offered.
func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(ctx context.Context) error { return s.p.store.Ping(ctx) }

// userActive reports whether the user exists and may use what was issued.
func (s *storage) userActive(ctx context.Context, userID string) bool {
	u, err := s.p.store.Users().GetUser(ctx, s.tenant(ctx), userID)
	return err == nil && u.Status == store.UserActive
}

// clientRecord is the stored client, or nil when it cannot be read (then no
// claims are mapped).
func (s *storage) clientRecord(ctx context.Context, id string) *store.Client {
	c, err := s.client(ctx, id)
	if err != nil {
		return nil
	}
	return c.c
}
