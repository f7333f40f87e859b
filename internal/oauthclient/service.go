// Package oauthclient manages a tenant's OAuth 2 / OpenID Connect clients
// (relying parties): the registration rules of RFC 9700 and RFC 8252, client
// secrets (256 random bits, shown once, stored only as SHA-256) and the audit
// of every change. It knows nothing of HTTP; the API and the CLI call it, and
// the OpenID provider reads the clients it stores.
package oauthclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

// SecretPrefix marks client secrets so secret scanners recognise them.
const SecretPrefix = "gh_cs_"

// secretLen is the length of a secret: the prefix and 32 bytes, base64url.
const secretLen = len(SecretPrefix) + 43

// Service manages OAuth clients.
type Service struct {
	Store store.Store
	Audit *events.Recorder
	Now   func() time.Time
	// AllowLoopbackHTTP accepts http:// CIBA notification endpoints on
	// loopback hosts (the deployment itself is on http://; ciba.go).
	AllowLoopbackHTTP bool
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// NewClient is the input of CreateClient. Lists and strings left empty and
// TTLs left 0 take their defaults. TTLs are whole seconds.
type NewClient struct {
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	// GrantTypes defaults to authorization_code and refresh_token.
	GrantTypes []string `json:"grant_types"`
	Scopes     []string `json:"scopes"`
	// Public clients (browser and native apps) have no secret, authenticate
	// with "none" and must use PKCE. Fixed at creation.
	Public     bool `json:"public"`
	ThirdParty bool `json:"third_party"`
	// TokenEndpointAuthMethod defaults to client_secret_basic, or none for
	// a public client.
	TokenEndpointAuthMethod      string            `json:"token_endpoint_auth_method"`
	IDTokenSignedResponseAlg     string            `json:"id_token_signed_response_alg"`
	AccessTokenSignedResponseAlg string            `json:"access_token_signed_response_alg"`
	AccessTokenTTL               int64             `json:"access_token_ttl"`
	IDTokenTTL                   int64             `json:"id_token_ttl"`
	RefreshTokenTTL              int64             `json:"refresh_token_ttl"`
	BackchannelLogoutURI         string            `json:"backchannel_logout_uri"`
	JWKS                         json.RawMessage   `json:"jwks"`
	ClaimMappings                map[string]string `json:"claim_mappings"`
	// AuthzClaims chooses the role and permission claims (authz).
	AuthzClaims store.AuthzClaims `json:"authz_claims"`
	// AllowedOrigins are web origins that may call the token, userinfo and
	// revocation endpoints from a browser, besides the redirect URIs'.
	AllowedOrigins []string `json:"allowed_origins"`
	// Introspection is own (default) or audience (a resource server).
	Introspection string `json:"introspection"`
	// DPoPBoundAccessTokens makes DPoP (RFC 9449) mandatory for the
	// client; DPoPNonceRequired also requires server nonces in proofs.
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`
	DPoPNonceRequired     bool `json:"dpop_nonce_required"`
	// TokenExchange widens token exchange (RFC 8693) beyond the client's
	// own audience and its own actor tokens (exchange.go).
	TokenExchange store.TokenExchangePolicy `json:"token_exchange"`
	// SecurityFields: mutual TLS and the FAPI 2.0 profile (security.go).
	SecurityFields
	// RequestMetadata are the CIBA and JAR fields (ciba.go).
	RequestMetadata
	// IDTokenOnRefresh: whether a refresh answers a new ID token (when the
	// refreshed scopes include openid); absent means true, as Keycloak and
	// Okta do. False makes a refresh a pure access-token renewal.
	IDTokenOnRefresh *bool `json:"id_token_on_refresh,omitempty"`
}

// ClientPatch changes the fields that are set (JSON null is the same as
// absent). A list replaces the whole list; "" and 0 restore a default (or
// clear the backchannel logout URI); claim_mappings replaces the mappings.
// Whether a client is public is fixed at creation.
type ClientPatch struct {
	Name                         *string            `json:"name,omitempty"`
	RedirectURIs                 *[]string          `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs       *[]string          `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes                   *[]string          `json:"grant_types,omitempty"`
	Scopes                       *[]string          `json:"scopes,omitempty"`
	ThirdParty                   *bool              `json:"third_party,omitempty"`
	TokenEndpointAuthMethod      *string            `json:"token_endpoint_auth_method,omitempty"`
	IDTokenSignedResponseAlg     *string            `json:"id_token_signed_response_alg,omitempty"`
	AccessTokenSignedResponseAlg *string            `json:"access_token_signed_response_alg,omitempty"`
	AccessTokenTTL               *int64             `json:"access_token_ttl,omitempty"`
	IDTokenTTL                   *int64             `json:"id_token_ttl,omitempty"`
	RefreshTokenTTL              *int64             `json:"refresh_token_ttl,omitempty"`
	BackchannelLogoutURI         *string            `json:"backchannel_logout_uri,omitempty"`
	JWKS                         json.RawMessage    `json:"jwks,omitempty"`
	ClaimMappings                *map[string]string `json:"claim_mappings,omitempty"`
	// AuthzClaims replaces the role and permission claim choice.
	AuthzClaims    *store.AuthzClaims `json:"authz_claims,omitempty"`
	AllowedOrigins *[]string          `json:"allowed_origins,omitempty"`
	Introspection  *string            `json:"introspection,omitempty"`
	// DPoP: see NewClient.
	DPoPBoundAccessTokens *bool `json:"dpop_bound_access_tokens,omitempty"`
	DPoPNonceRequired     *bool `json:"dpop_nonce_required,omitempty"`
	// TokenExchange replaces the token exchange policy (exchange.go).
	TokenExchange *store.TokenExchangePolicy `json:"token_exchange,omitempty"`
	// SecurityPatch: mutual TLS and the FAPI 2.0 profile (security.go).
	SecurityPatch
	// RequestMetadataPatch: the CIBA and JAR fields (ciba.go).
	RequestMetadataPatch
	IDTokenOnRefresh *bool `json:"id_token_on_refresh,omitempty"`
}

// HashSecret is how a client secret is stored and compared.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// VerifySecret reports, in constant time, whether secret is c's secret.
// A client without a secret matches nothing.
func VerifySecret(c *store.Client, secret string) bool {
	if len(c.SecretHash) != sha256.Size || len(secret) != secretLen || !strings.HasPrefix(secret, SecretPrefix) {
		return false
	}
	return subtle.ConstantTimeCompare(c.SecretHash, HashSecret(secret)) == 1
}

// usesSecret reports whether c authenticates with a client secret.
func usesSecret(c *store.Client) bool {
	return !c.Public && (c.AuthMethod == AuthSecretBasic || c.AuthMethod == AuthSecretPost)
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateClient registers a client of tenant and returns it with its secret,
// which is shown this once and stored only as a hash ("" for public and
// private_key_jwt clients, which have none). The client_id is a UUIDv7.
// Errors: *valid.Error, store.ErrNotFound (no such tenant).
func (s *Service) CreateClient(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewClient) (*store.Client, string, error) {
	cl, secret, err := s.prepareClient(tenant, in)
	if err != nil {
		return nil, "", err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error { return s.insertClient(ctx, tx, actor, cl) })
	if err != nil {
		return nil, "", err
	}
	return cl, secret, nil
}

// prepareClient validates in and makes the client with its id and secret.
func (s *Service) prepareClient(tenant store.TenantID, in NewClient) (*store.Client, string, error) {
	now := s.now()
	cl := &store.Client{
		Tenant: tenant, Name: in.Name, Public: in.Public, ThirdParty: in.ThirdParty,
		AuthMethod:             in.TokenEndpointAuthMethod,
		RedirectURIs:           orEmpty(in.RedirectURIs),
		PostLogoutRedirectURIs: orEmpty(in.PostLogoutRedirectURIs),
		GrantTypes:             slices.Clone(in.GrantTypes),
		Scopes:                 orEmpty(in.Scopes),
		IDTokenAlg:             in.IDTokenSignedResponseAlg,
		AccessTokenAlg:         in.AccessTokenSignedResponseAlg,
		BackchannelLogoutURI:   in.BackchannelLogoutURI,
		ClaimMappings:          maps.Clone(in.ClaimMappings),
		AuthzClaims:            in.AuthzClaims,
		AllowedOrigins:         orEmpty(in.AllowedOrigins),
		Introspection:          in.Introspection,
		DPoPBound:              in.DPoPBoundAccessTokens,
		DPoPNonce:              in.DPoPNonceRequired,
		TokenExchange:          cloneExchange(in.TokenExchange),
		OmitRefreshIDToken:     in.IDTokenOnRefresh != nil && !*in.IDTokenOnRefresh,
		Version:                1, CreatedAt: now, UpdatedAt: now,
	}
	if len(cl.GrantTypes) == 0 {
		cl.GrantTypes = slices.Clone(DefaultGrantTypes)
	}
	applySecurity(cl, in.SecurityFields) // security.go
	in.RequestMetadata.apply(cl)
	var c valid.Collector
	cl.JWKS = normaliseJWKS(&c, in.JWKS)
	setTTL(&c, "access_token_ttl", &cl.AccessTokenTTL, in.AccessTokenTTL, accessTTL)
	setTTL(&c, "id_token_ttl", &cl.IDTokenTTL, in.IDTokenTTL, idTTL)
	setTTL(&c, "refresh_token_ttl", &cl.RefreshTokenTTL, in.RefreshTokenTTL, refreshTTL)
	applyDefaults(cl)
	check(&c, cl)
	s.checkCIBA(&c, cl)
	if err := c.Err(); err != nil {
		return nil, "", err
	}
	var secret string
	if usesSecret(cl) {
		var err error
		if secret, err = newSecret(); err != nil {
			return nil, "", err
		}
		cl.SecretHash = HashSecret(secret)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	cl.ID = id.String()
	return cl, secret, nil
}

// insertClient stores a validated client in tx, audited.
func (s *Service) insertClient(ctx context.Context, tx store.Repos, actor events.Actor, cl *store.Client) error {
	if _, err := tx.Tenants().GetTenant(ctx, cl.Tenant); err != nil {
		return err
	}
	if err := tx.OAuth().Clients().CreateClient(ctx, cl); err != nil {
		return err
	}
	return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: cl.Tenant, Action: "client.create",
		TargetType: "client", TargetID: cl.ID, Changes: events.Diff(nil, auditFields(cl))})
}

// validID: client ids are UUIDv7 strings in canonical form; anything else
// names no client (and never reaches a query).
func validID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return store.ErrNotFound
	}
	return nil
}

// GetClient answers store.ErrNotFound when id is not a client of tenant.
func (s *Service) GetClient(ctx context.Context, tenant store.TenantID, id string) (*store.Client, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.Store.OAuth().Clients().GetClient(ctx, tenant, id)
}

// ListClients answers a page of the tenant's clients, in creation order.
func (s *Service) ListClients(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Client, error) {
	return s.Store.OAuth().Clients().ListClients(ctx, tenant, p)
}

// UpdateClient applies p when version (if non-zero) is current. The whole
// client is validated after the change. Switching to private_key_jwt drops
// the secret; switching from it to a secret method leaves the client without
// one until RotateSecret.
// Errors: *valid.Error, store.ErrNotFound, store.ErrPrecondition.
func (s *Service) UpdateClient(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p ClientPatch) (*store.Client, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var out *store.Client
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		out, err = s.updateClient(ctx, tx, actor, tenant, id, version, p)
		return err
	})
	return out, err
}

// updateClient is UpdateClient in tx.
func (s *Service) updateClient(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, id string, version int64, p ClientPatch) (*store.Client, error) {
	var out *store.Client
	err := func() error {
		var before map[string]any
		cl, err := tx.OAuth().Clients().UpdateClient(ctx, tenant, id, func(cl *store.Client) error {
			if version != 0 && version != cl.Version {
				return store.ErrPrecondition
			}
			before = auditFields(cl)
			var c valid.Collector
			applyPatch(&c, cl, p)
			applyDefaults(cl)
			check(&c, cl)
			s.checkCIBA(&c, cl)
			if err := c.Err(); err != nil {
				return err
			}
			if !usesSecret(cl) {
				cl.SecretHash = nil
			}
			return nil
		})
		if err != nil {
			return err
		}
		out = cl
		changes := events.Diff(before, auditFields(cl))
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "client.update",
			TargetType: "client", TargetID: id, Changes: changes})
	}()
	return out, err
}

// RotateSecret gives a confidential client that authenticates with a secret
// a new one, returned this once; the old one stops working at once.
// Errors: *valid.Error (public or private_key_jwt client), store.ErrNotFound.
func (s *Service) RotateSecret(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) (*store.Client, string, error) {
	if err := validID(id); err != nil {
		return nil, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	var out *store.Client
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		var had bool
		cl, err := tx.OAuth().Clients().UpdateClient(ctx, tenant, id, func(cl *store.Client) error {
			if !usesSecret(cl) {
				return valid.Field("token_endpoint_auth_method", "no_secret",
					"Only a confidential client using client_secret_basic or client_secret_post has a secret.")
			}
			had = cl.SecretHash != nil
			cl.SecretHash = HashSecret(secret)
			return nil
		})
		if err != nil {
			return err
		}
		out = cl
		var was any
		if had {
			was = "(redacted)"
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "client.rotate_secret",
			TargetType: "client", TargetID: id,
			Changes: events.Changes{"client_secret": {Before: was, After: "(new)"}}})
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// DeleteClient removes a client. store.ErrNotFound when it is not tenant's.
func (s *Service) DeleteClient(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		cl, err := tx.OAuth().Clients().GetClient(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.OAuth().Clients().DeleteClient(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "client.delete",
			TargetType: "client", TargetID: id, Changes: events.Diff(auditFields(cl), nil)})
	})
}

// applyPatch copies p's set fields onto cl, assigning fresh slices and maps
// (the store's closure shares the old record's).
func applyPatch(c *valid.Collector, cl *store.Client, p ClientPatch) {
	str := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	list := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = orEmpty(*v)
		}
	}
	str(&cl.Name, p.Name)
	list(&cl.RedirectURIs, p.RedirectURIs)
	list(&cl.PostLogoutRedirectURIs, p.PostLogoutRedirectURIs)
	list(&cl.Scopes, p.Scopes)
	if p.GrantTypes != nil {
		cl.GrantTypes = slices.Clone(*p.GrantTypes)
		if len(cl.GrantTypes) == 0 {
			c.Add("grant_types", "required", "A client needs at least one grant type.")
		}
	}
	if p.ThirdParty != nil {
		cl.ThirdParty = *p.ThirdParty
	}
	str(&cl.AuthMethod, p.TokenEndpointAuthMethod)
	str(&cl.IDTokenAlg, p.IDTokenSignedResponseAlg)
	str(&cl.AccessTokenAlg, p.AccessTokenSignedResponseAlg)
	str(&cl.BackchannelLogoutURI, p.BackchannelLogoutURI)
	if p.AccessTokenTTL != nil {
		setTTL(c, "access_token_ttl", &cl.AccessTokenTTL, *p.AccessTokenTTL, accessTTL)
	}
	if p.IDTokenTTL != nil {
		setTTL(c, "id_token_ttl", &cl.IDTokenTTL, *p.IDTokenTTL, idTTL)
	}
	if p.RefreshTokenTTL != nil {
		setTTL(c, "refresh_token_ttl", &cl.RefreshTokenTTL, *p.RefreshTokenTTL, refreshTTL)
	}
	if len(p.JWKS) > 0 {
		cl.JWKS = normaliseJWKS(c, p.JWKS)
	}
	if p.ClaimMappings != nil {
		cl.ClaimMappings = maps.Clone(*p.ClaimMappings)
	}
	if p.AuthzClaims != nil {
		cl.AuthzClaims = *p.AuthzClaims
	}
	list(&cl.AllowedOrigins, p.AllowedOrigins)
	str(&cl.Introspection, p.Introspection)
	if p.DPoPBoundAccessTokens != nil {
		cl.DPoPBound = *p.DPoPBoundAccessTokens
	}
	if p.DPoPNonceRequired != nil {
		cl.DPoPNonce = *p.DPoPNonceRequired
	}
	if p.TokenExchange != nil {
		cl.TokenExchange = cloneExchange(*p.TokenExchange)
	}
	patchSecurity(cl, p.SecurityPatch) // security.go
	p.RequestMetadataPatch.apply(cl)
	if p.IDTokenOnRefresh != nil {
		cl.OmitRefreshIDToken = !*p.IDTokenOnRefresh
	}
}

// auditFields is what the audit log records of a client: never the secret
// or its hash, only whether there is one.
func auditFields(cl *store.Client) map[string]any {
	m := map[string]any{
		"name": cl.Name, "public": cl.Public, "third_party": cl.ThirdParty,
		"token_endpoint_auth_method":       cl.AuthMethod,
		"redirect_uris":                    orEmpty(cl.RedirectURIs),
		"post_logout_redirect_uris":        orEmpty(cl.PostLogoutRedirectURIs),
		"grant_types":                      orEmpty(cl.GrantTypes),
		"scopes":                           orEmpty(cl.Scopes),
		"id_token_signed_response_alg":     cl.IDTokenAlg,
		"access_token_signed_response_alg": cl.AccessTokenAlg,
		"access_token_ttl":                 int64(cl.AccessTokenTTL / time.Second),
		"id_token_ttl":                     int64(cl.IDTokenTTL / time.Second),
		"refresh_token_ttl":                int64(cl.RefreshTokenTTL / time.Second),
		"backchannel_logout_uri":           cl.BackchannelLogoutURI,
		"claim_mappings":                   orEmptyMap(cl.ClaimMappings),
		"authz_claims":                     cl.AuthzClaims,
		"allowed_origins":                  orEmpty(cl.AllowedOrigins),
		"introspection":                    cl.Introspection,
		"dpop_bound_access_tokens":         cl.DPoPBound,
		"dpop_nonce_required":              cl.DPoPNonce,
		"token_exchange":                   exchangeFields(cl.TokenExchange),
		"id_token_on_refresh":              !cl.OmitRefreshIDToken,
		"has_secret":                       cl.SecretHash != nil,
		"security":                         cl.Security,
	}
	if len(cl.JWKS) > 0 {
		m["jwks"] = json.RawMessage(slices.Clone(cl.JWKS))
	}
	requestAuditFields(m, cl) // ciba.go
	return m
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
