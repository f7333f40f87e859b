package oauthclient

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Registration modes (settings.oauth.registration): who may register a
// client at the tenant's registration endpoint (RFC 7591).
const (
	// RegistrationClosed: nobody; the endpoint answers 403.
	RegistrationClosed = "closed"
	// RegistrationInitialToken: a caller with an initial access token, a
	// tenant-admin API key, or a software statement signed by a trusted
	// issuer. The default.
	RegistrationInitialToken = "initial_access_token"
	// RegistrationOpen: anyone.
	RegistrationOpen = "open"
)

// OAuthSettings is a tenant's settings.oauth: dynamic registration and
// client ID metadata documents.
type OAuthSettings struct {
	// Registration is closed, initial_access_token ("" = that) or open.
	Registration string `json:"registration,omitempty"`
	// RegistrationPolicy limits what a registration may ask for.
	RegistrationPolicy RegistrationPolicy `json:"registration_policy,omitzero"`
	// SoftwareStatementIssuers are trusted to sign software statements
	// (RFC 7591 2.3); a statement's claims override the request's.
	SoftwareStatementIssuers []TrustedIssuer `json:"software_statement_issuers,omitempty"`
	// ClientIDMetadataDocuments lets a client whose client_id is an https
	// URL be used without registration, its metadata fetched from the URL
	// (off by default).
	ClientIDMetadataDocuments bool `json:"client_id_metadata_documents,omitempty"`
}

// RegistrationPolicy limits dynamic registration. Empty lists mean the
// defaults.
type RegistrationPolicy struct {
	// GrantTypes a registered client may have; default authorization_code
	// and refresh_token.
	GrantTypes []string `json:"grant_types,omitempty"`
	// RedirectURISchemes a redirect URI may use; default https and http
	// (which the client rules already limit to loopback hosts).
	RedirectURISchemes []string `json:"redirect_uri_schemes,omitempty"`
	// TokenEndpointAuthMethod, when set, is the only method a registered
	// client may use (private_key_jwt, say).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
}

// TrustedIssuer signs software statements with the keys of JWKS.
type TrustedIssuer struct {
	Issuer string          `json:"issuer"`
	JWKS   json.RawMessage `json:"jwks"`
}

// Mode is the registration mode with its default.
func (o OAuthSettings) Mode() string {
	if o.Registration == "" {
		return RegistrationInitialToken
	}
	return o.Registration
}

func (p RegistrationPolicy) grants() []string {
	if len(p.GrantTypes) == 0 {
		return []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	return p.GrantTypes
}

func (p RegistrationPolicy) schemes() []string {
	if len(p.RedirectURISchemes) == 0 {
		return []string{"https", "http"}
	}
	return p.RedirectURISchemes
}

// Check validates settings.oauth, naming fields under prefix.
func (o OAuthSettings) Check(c *valid.Collector, prefix string) {
	if !slices.Contains([]string{"", RegistrationClosed, RegistrationInitialToken, RegistrationOpen}, o.Registration) {
		c.Add(prefix+".registration", "invalid", "registration is closed, initial_access_token or open.")
	}
	p := o.RegistrationPolicy
	for _, g := range p.GrantTypes {
		if !slices.Contains(grantTypes, g) {
			c.Add(prefix+".registration_policy.grant_types", "invalid", "Grant types are those a client may register.")
			break
		}
	}
	for _, s := range p.RedirectURISchemes {
		if s != "https" && s != "http" && !privateSchemeRE.MatchString(s) {
			c.Add(prefix+".registration_policy.redirect_uri_schemes", "invalid",
				"A scheme is https, http or a private-use scheme in reverse domain form.")
			break
		}
	}
	if p.TokenEndpointAuthMethod != "" && !slices.Contains(authMethods, p.TokenEndpointAuthMethod) {
		c.Add(prefix+".registration_policy.token_endpoint_auth_method", "invalid",
			"The method is client_secret_basic, client_secret_post, private_key_jwt or none.")
	}
	if len(o.SoftwareStatementIssuers) > 10 {
		c.Add(prefix+".software_statement_issuers", "too_many", "At most 10 trusted issuers.")
		return
	}
	for i, is := range o.SoftwareStatementIssuers {
		f := fmt.Sprintf("%s.software_statement_issuers[%d]", prefix, i)
		if u, err := url.Parse(is.Issuer); err != nil || is.Issuer == "" || len(is.Issuer) > MaxURILength || u.Host == "" {
			c.Add(f+".issuer", "invalid", "An issuer is an absolute URI.")
		}
		var set jose.JSONWebKeySet
		if len(is.JWKS) > maxJWKSBytes || json.Unmarshal(is.JWKS, &set) != nil || len(set.Keys) == 0 {
			c.Add(f+".jwks", "invalid", `jwks is a JWK Set with at least one public key: {"keys": [...]}.`)
			continue
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				c.Add(f+".jwks", "private_key", "Register public keys only.")
				break
			}
		}
	}
}
