package oidc

import (
	"context"
	"errors"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// server is the op.Server: the library's legacy server for request
// parsing, client authentication, userinfo, introspection, revocation and
// logout, with the token grants and discovery replaced by ours. Ours mint
// RS256 ID tokens and ES256 access tokens per client (the library signs
// both with one key), consume codes once in the database (revoking what a
// first use produced on a second), require the PKCE verifier whenever a
// challenge was sent, and rotate refresh tokens with reuse detection.
type server struct {
	*op.LegacyServer
	p *Provider
}

var _ op.ExtendedLegacyServer = (*server)(nil)

func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	cfg := op.CreateDiscoveryConfig(ctx, s.Provider(), s.Provider().Storage())
	cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	cfg.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost)}
	cfg.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials,
		oidc.GrantTypeDeviceCode, oidc.GrantTypeTokenExchange, GrantCIBA}
	cfg.RegistrationEndpoint = s.p.registrationEndpoint(ctx) // register.go
	cfg.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	cfg.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost,
		oidc.AuthMethodPrivateKeyJWT, oidc.AuthMethodNone, authTLSClient, authSelfSignedTLSClient}
	cfg.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost,
		oidc.AuthMethodPrivateKeyJWT, authTLSClient, authSelfSignedTLSClient}
	cfg.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost,
		oidc.AuthMethodPrivateKeyJWT, oidc.AuthMethodNone, authTLSClient, authSelfSignedTLSClient}
	cfg.IDTokenSigningAlgValuesSupported = []string{"RS256", "ES256", "EdDSA"}
	cfg.ACRValuesSupported = []string{"1", "mfa"} // mfa: a second factor (internal/mfa step-up)
	cfg.ScopesSupported = standardScopes
	cfg.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
		"at_hash", "email", "email_verified", "name", "given_name", "family_name", "preferred_username",
		"locale", "updated_at", "phone_number", "phone_number_verified", "groups", "consents", "risk"}
	cfg.SubjectTypesSupported = []string{"public"}
	cfg.BackChannelLogoutSupported = true
	cfg.BackChannelLogoutSessionSupported = true
	s.p.requestObjectDiscovery(cfg) // jar.go
	cfg.TokenEndpointAuthSigningAlgValuesSupported = assertionAlgs
	cfg.IntrospectionEndpointAuthSigningAlgValuesSupported = assertionAlgs
	cfg.RevocationEndpointAuthSigningAlgValuesSupported = assertionAlgs
	cfg.DeviceAuthorizationEndpoint = s.Endpoints().DeviceAuthorization.Absolute(s.p.issuer(ctx))
	cfg.CheckSessionIframe = ""
	return op.NewResponse(discovery{DiscoveryConfiguration: cfg, IssParameter: true,
		PAREndpoint: s.p.issuer(ctx) + parPath, RequirePAR: false, DPoPAlgs: dpopAlgNames,
		CIMD: s.p.metadataDocumentsAllowed(ctx), TLSBound: true,
		cibaDiscovery: s.p.cibaDiscovery(ctx), rarDiscovery: s.p.rarDiscovery(ctx)}), nil
}

// discovery adds what the library's document type lacks: RFC 9207's iss
// parameter, which every authorization response carries.
type discovery struct {
	*oidc.DiscoveryConfiguration
	IssParameter bool `json:"authorization_response_iss_parameter_supported"`
	// RFC 9126: pushed authorization requests are offered, not required.
	PAREndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePAR  bool   `json:"require_pushed_authorization_requests"`
	// RFC 9449 5.1: the DPoP proof algorithms accepted (dpop.go).
	DPoPAlgs []string `json:"dpop_signing_alg_values_supported"`
	// Client ID Metadata Documents are accepted (cimd.go).
	CIMD bool `json:"client_id_metadata_document_supported,omitempty"`
	// RFC 8705 3.3: certificate-bound access tokens are offered (mtls.go).
	TLSBound      bool `json:"tls_client_certificate_bound_access_tokens"`
	cibaDiscovery      // ciba.go
	rarDiscovery       // rar.go
}

func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	tn := tenantFrom(ctx).ID
	st := s.p.store.OAuth()
	// DPoP first (dpop.go): a use_dpop_nonce answer must leave the code
	// unspent for the retry with the nonce.
	jkt, err := s.p.tokenBinding(ctx, r.Client.(*client))
	if err != nil {
		return nil, err
	}
	ar, err := st.AuthRequests().ConsumeCode(ctx, tn, sha(r.Data.Code))
	switch {
	case errors.Is(err, store.ErrConflict):
		// A second use: whatever the first produced is revoked (RFC 9700
		// 4.2.1). The request is deleted first, so a first use still
		// issuing sees it gone and revokes what it made (see below).
		_ = st.AuthRequests().DeleteAuthRequest(ctx, tn, ar.ID)
		if rerr := st.Tokens().RevokeFamily(ctx, tn, ar.ID); rerr != nil {
			return nil, s.p.storage.hide(ctx, rerr)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("authorization code already used")
	case errors.Is(err, store.ErrNotFound):
		return nil, oidc.ErrInvalidGrant().WithDescription("authorization code invalid or expired")
	case err != nil:
		return nil, s.p.storage.hide(ctx, err)
	}
	c := r.Client.(*client)
	if ar.ClientID != c.c.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("authorization code was issued to another client")
	}
	if err := checkCodeBinding(ar, jkt); err != nil { // dpopjkt.go
		return nil, err
	}
	u, err := s.p.store.Users().GetUser(ctx, tn, ar.UserID)
	if err != nil || u.Status != store.UserActive {
		return nil, oidc.ErrInvalidGrant().WithDescription("the user is not active")
	}
	if r.Data.RedirectURI != ar.RedirectURI {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	switch {
	case ar.CodeChallenge != "":
		if r.Data.CodeVerifier == "" {
			return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier required")
		}
		if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, &oidc.CodeChallenge{
			Challenge: ar.CodeChallenge, Method: oidc.CodeChallengeMethodS256}); err != nil {
			return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier does not match")
		}
	case r.Data.CodeVerifier != "":
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier sent but no code_challenge was")
	}
	g := grant{grantType: string(oidc.GrantTypeCode), tenant: tn, issuer: s.p.issuer(ctx), client: c, userID: ar.UserID, scopes: ar.Scopes,
		sessionID: ar.SessionID, familyID: ar.ID, authTime: ar.AuthTime, amr: ar.AMR, nonce: ar.Nonce, jkt: jkt,
		details: s.p.approvedDetails(ctx, tn, ar.ID), // rar.go
		user:    u}
	resp, err := s.p.issue(ctx, g, c.hasGrant(oidc.GrantTypeRefreshToken))
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	// A second use that ran while these tokens were being made revoked the
	// family before they existed: if it has happened, revoke them now.
	if _, err := st.AuthRequests().GetAuthRequest(ctx, tn, ar.ID); errors.Is(err, store.ErrNotFound) {
		_ = st.Tokens().RevokeFamily(ctx, tn, ar.ID)
		return nil, oidc.ErrInvalidGrant().WithDescription("authorization code already used")
	}
	return op.NewResponse(withDetailsResponse(resp, g.details)), nil
}

func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	tn := tenantFrom(ctx).ID
	toks := s.p.store.OAuth().Tokens()
	c := r.Client.(*client)
	oldHash := sha(r.Data.RefreshToken)
	old, err := toks.GetRefreshToken(ctx, tn, oldHash)
	if err != nil || old.ClientID != c.c.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token invalid or expired")
	}
	scopes := old.Scopes
	if len(r.Data.Scopes) > 0 {
		for _, sc := range r.Data.Scopes {
			if !slices.Contains(old.Scopes, sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("scope %q was not granted", sc)
			}
		}
		scopes = r.Data.Scopes
	}
	jkt, err := s.p.tokenBinding(ctx, c) // dpop.go
	if err != nil {
		return nil, err
	}
	if old.JKT != "" && jkt != old.JKT {
		// RFC 9449 5: a bound refresh token needs a proof by its key.
		return nil, dpopError("this refresh token is bound to another DPoP key")
	}
	// The user is read once here; the hook and the ID token use this read.
	u, err := s.p.store.Users().GetUser(ctx, tn, old.UserID)
	if err != nil || u.Status != store.UserActive {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token invalid or expired")
	}
	// The MFA policy as it is now: one tightened since the login behind
	// the grant ends it, and the client signs the user in again. The
	// tenant's settings are the request's (cached per node, dropped on
	// change like every protocol endpoint's).
	if s.p.flow != nil {
		err := s.p.flow.GrantMeetsPolicy(ctx, tenantFrom(ctx), u, c.c.ID, old.AMR)
		if errors.Is(err, flow.ErrStepUpRequired) {
			return nil, oidc.ErrInvalidGrant().WithDescription("the sign-in behind this grant no longer meets the MFA policy; sign in again")
		}
		if err != nil {
			return nil, s.p.storage.hide(ctx, err)
		}
	}
	g := grant{grantType: string(oidc.GrantTypeRefreshToken), tenant: tn, issuer: s.p.issuer(ctx), client: c, userID: old.UserID, scopes: scopes,
		sessionID: old.SessionID, familyID: old.FamilyID, kind: old.Kind, authTime: old.AuthTime, amr: old.AMR, jkt: jkt,
		details:   s.p.approvedDetails(ctx, tn, old.FamilyID), // rar.go
		noIDToken: c.c.OmitRefreshIDToken, user: u}
	next, tok, err := s.p.newRefreshToken(g)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	next.JKT = old.JKT       // a family keeps its binding
	next.Scopes = old.Scopes // narrowing applies to this access token, not the grant
	if _, err := toks.RotateRefreshToken(ctx, tn, oldHash, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Reuse: the family is revoked by the store; end this client's
			// tokens in the session too.
			if old.SessionID != "" {
				_ = toks.RevokeSessionTokens(ctx, tn, old.SessionID, c.c.ID)
			}
			s.p.log.WarnContext(ctx, "oidc: refresh token reuse; family revoked",
				"client_id", c.c.ID, "family", old.FamilyID)
			return nil, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, oidc.ErrInvalidGrant().WithDescription("refresh token invalid or expired")
		}
		return nil, s.p.storage.hide(ctx, err)
	}
	// A reuse that revokes the family after this rotation committed (or a
	// revocation of the session or the user's tokens, which revoke their
	// families) also covers the access token made next, whenever it is
	// made: a family's revocation names the family, which the token
	// carries (jwtaccess.go), not a time. So the new token need not be
	// read back.
	resp, err := s.p.issue(ctx, g, false)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	resp.RefreshToken = tok
	return op.NewResponse(withDetailsResponse(resp, g.details)), nil
}

func (s *server) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	c := r.Client.(*client)
	for _, sc := range r.Data.Scope {
		if sc == oidc.ScopeOpenID || sc == oidc.ScopeOfflineAccess || !c.IsScopeAllowed(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed", sc)
		}
	}
	jkt, err := s.p.tokenBinding(ctx, c) // dpop.go
	if err != nil {
		return nil, err
	}
	g := grant{grantType: string(oidc.GrantTypeClientCredentials), tenant: tenantFrom(ctx).ID, issuer: s.p.issuer(ctx), client: c,
		scopes: r.Data.Scope, jkt: jkt}
	at, exp, err := s.p.mintAccessToken(ctx, g)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	return op.NewResponse(&oidc.AccessTokenResponse{
		AccessToken: at, TokenType: tokenType(jkt), ExpiresIn: uint64(exp.Sub(s.p.now()).Seconds()),
		Scope: r.Data.Scope,
	}), nil
}

// issue mints the access token, the ID token (for openid) and optionally a
// new refresh token family member.
func (p *Provider) issue(ctx context.Context, g grant, withRefresh bool) (*oidc.AccessTokenResponse, error) {
	if err := p.preToken(ctx, &g); err != nil { // hooks.go
		return nil, err
	}
	at, exp, err := p.mintAccessToken(ctx, g)
	if err != nil {
		return nil, err
	}
	resp := &oidc.AccessTokenResponse{AccessToken: at, TokenType: tokenType(g.jkt),
		ExpiresIn: uint64(exp.Sub(p.now()).Seconds()), Scope: g.scopes}
	if slices.Contains(g.scopes, oidc.ScopeOpenID) && !g.noIDToken {
		if resp.IDToken, err = p.mintIDToken(ctx, g, at); err != nil {
			return nil, err
		}
	}
	if withRefresh {
		rt, tok, err := p.newRefreshToken(g)
		if err != nil {
			return nil, err
		}
		if err := p.store.OAuth().Tokens().CreateRefreshToken(ctx, rt); err != nil {
			return nil, err
		}
		resp.RefreshToken = tok
	}
	if g.sessionID != "" {
		_ = p.sessions.AddClient(ctx, g.tenant, g.sessionID, g.client.c.ID)
	}
	return resp, nil
}
