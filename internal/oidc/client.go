package oidc

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// standardScopes are what a client may ask for when it lists none.
var standardScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone,
	oidc.ScopeOfflineAccess, "groups", "consents", ScopeRisk}

// client adapts a stored client to op.Client for one tenant.
type client struct {
	c *store.Client
	// loginURL is the tenant's hosted login page.
	loginURL string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: public clients are native (RFC 8252 loopback port
// freedom applies to them only); confidential ones are web.
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	switch c.c.AuthMethod {
	case "client_secret_post":
		return oidc.AuthMethodPost
	case "private_key_jwt":
		return oidc.AuthMethodPrivateKeyJWT
	case "tls_client_auth", "self_signed_tls_client_auth": // mtls.go
		return oidc.AuthMethod(c.c.AuthMethod)
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes: the authorization code flow only (RFC 9700 drops implicit).
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, len(c.c.GrantTypes))
	for i, g := range c.c.GrantTypes {
		out[i] = oidc.GrantType(g)
	}
	return out
}

func (c *client) hasGrant(g oidc.GrantType) bool {
	return slices.Contains(c.c.GrantTypes, string(g))
}

func (c *client) LoginURL(id string) string           { return c.loginURL + "?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

func (c *client) IDTokenLifetime() time.Duration {
	return ttl(c.c.IDTokenTTL, 15*time.Minute)
}

func (c *client) accessTokenLifetime() time.Duration {
	return ttl(c.c.AccessTokenTTL, 15*time.Minute)
}

func (c *client) refreshTokenLifetime() time.Duration {
	return ttl(c.c.RefreshTokenTTL, 30*24*time.Hour)
}

func ttl(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// DevMode is never on: redirect URIs are checked by the production rules.
func (c *client) DevMode() bool { return false }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed is asked for scopes beyond the standard ones.
func (c *client) IsScopeAllowed(scope string) bool {
	if len(c.c.Scopes) == 0 {
		return slices.Contains(standardScopes, scope)
	}
	return slices.Contains(c.c.Scopes, scope)
}

// IDTokenUserinfoClaimsAssertion: profile claims go in the ID token, so a
// client need not call userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

func (c *client) idTokenAlg() string {
	if c.c.IDTokenAlg == "" {
		return "RS256"
	}
	return c.c.IDTokenAlg
}

func (c *client) accessTokenAlg() string {
	if c.c.AccessTokenAlg == "" {
		return "ES256"
	}
	return c.c.AccessTokenAlg
}
