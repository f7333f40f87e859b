package oauthclient

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592): the
// metadata a client registers with becomes an ordinary client, validated by
// the same rules as the management API's plus the tenant's registration
// policy, always third-party (its users see a consent screen). The
// registration access token that manages it is kept as a hash.

// Token prefixes of registration's secrets.
const (
	// InitialTokenPrefix marks initial access tokens.
	InitialTokenPrefix = "gh_iat_"
	// RegistrationTokenPrefix marks registration access tokens.
	RegistrationTokenPrefix = "gh_rat_"
)

// Bounds of an initial access token.
const (
	MaxInitialTokenUses     = 1000
	MaxInitialTokenLifetime = 90 * 24 * time.Hour
)

// Metadata is a client's registration metadata (RFC 7591 2, OpenID
// Connect Dynamic Registration, RFC 9449 5.2, OpenID CIBA Core 4).
// Unknown members are ignored (RFC 7591 2).
type Metadata struct {
	RedirectURIs             []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod  string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes               []string        `json:"grant_types,omitempty"`
	ResponseTypes            []string        `json:"response_types,omitempty"`
	ClientName               string          `json:"client_name,omitempty"`
	ClientURI                string          `json:"client_uri,omitempty"`
	LogoURI                  string          `json:"logo_uri,omitempty"`
	Scope                    string          `json:"scope,omitempty"`
	Contacts                 []string        `json:"contacts,omitempty"`
	TOSURI                   string          `json:"tos_uri,omitempty"`
	PolicyURI                string          `json:"policy_uri,omitempty"`
	JWKSURI                  string          `json:"jwks_uri,omitempty"`
	JWKS                     json.RawMessage `json:"jwks,omitempty"`
	SoftwareID               string          `json:"software_id,omitempty"`
	SoftwareVersion          string          `json:"software_version,omitempty"`
	SoftwareStatement        string          `json:"software_statement,omitempty"`
	PostLogoutRedirectURIs   []string        `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI     string          `json:"backchannel_logout_uri,omitempty"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg,omitempty"`
	DPoPBoundAccessTokens    bool            `json:"dpop_bound_access_tokens,omitempty"`
	// CIBA (OpenID CIBA Core 1.0 section 4): stored with the registration.
	BackchannelTokenDeliveryMode          string `json:"backchannel_token_delivery_mode,omitempty"`
	BackchannelClientNotificationEndpoint string `json:"backchannel_client_notification_endpoint,omitempty"`
	BackchannelUserCodeParameter          bool   `json:"backchannel_user_code_parameter,omitempty"`
}

// RegistrationError is an RFC 7591 3.2.2 error: Code is
// invalid_redirect_uri, invalid_client_metadata, invalid_software_statement
// or unapproved_software_statement.
type RegistrationError struct {
	Code        string
	Description string
}

func (e *RegistrationError) Error() string { return e.Code + ": " + e.Description }

func regErr(code, desc string) error { return &RegistrationError{Code: code, Description: desc} }

// Registered is the outcome of a registration: the client, its secret and
// registration access token (shown this once; "" when unchanged), and the
// metadata as stored.
type Registered struct {
	Client            *store.Client
	Secret            string
	RegistrationToken string
	Metadata          Metadata
}

// ErrRegistrationToken is the one answer for a missing, wrong or spent
// initial or registration access token.
var ErrRegistrationToken = errors.New("oauthclient: registration token invalid")

// CreateRegistrationToken mints an initial access token of tenant good for
// maxUses registrations within expiresIn. Audited.
// Errors: *valid.Error, store.ErrNotFound (no such tenant).
func (s *Service) CreateRegistrationToken(ctx context.Context, actor events.Actor, tenant store.TenantID, maxUses int, expiresIn time.Duration) (string, *store.RegistrationToken, error) {
	var c valid.Collector
	if maxUses < 1 || maxUses > MaxInitialTokenUses {
		c.Add("max_uses", "out_of_range", "max_uses is 1 to 1000.")
	}
	if expiresIn < time.Minute || expiresIn > MaxInitialTokenLifetime {
		c.Add("expires_in", "out_of_range", "expires_in is 60 to 7776000 seconds (90 days).")
	}
	if err := c.Err(); err != nil {
		return "", nil, err
	}
	tok, err := newToken(InitialTokenPrefix)
	if err != nil {
		return "", nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	rt := &store.RegistrationToken{ID: id.String(), Tenant: tenant, Hash: HashSecret(tok), MaxUses: maxUses,
		CreatedAt: now, ExpiresAt: now.Add(expiresIn)}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.OAuth().Registrations().CreateRegistrationToken(ctx, rt); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "registration_token.create",
			TargetType: "registration_token", TargetID: rt.ID, Changes: events.Diff(nil, map[string]any{
				"max_uses": maxUses, "expires_at": rt.ExpiresAt})})
	})
	if err != nil {
		return "", nil, err
	}
	return tok, rt, nil
}

func newToken(prefix string) (string, error) {
	s, err := newSecret()
	if err != nil {
		return "", err
	}
	return prefix + strings.TrimPrefix(s, SecretPrefix), nil
}

// Register creates a client from metadata under the tenant's policy.
// initialToken, when not "", is an initial access token: one of its uses
// is spent in the transaction that creates the client, so a refused
// registration spends none. statement is the verified software statement's
// claims (they override md's members), nil without one.
// Errors: *RegistrationError, ErrRegistrationToken.
func (s *Service) Register(ctx context.Context, actor events.Actor, tenant store.TenantID, md Metadata, statement map[string]any,
	policy RegistrationPolicy, initialToken string) (*Registered, error) {
	if err := overlay(&md, statement); err != nil {
		return nil, err
	}
	md.SoftwareStatement = ""
	in, err := md.newClient(policy)
	if err != nil {
		return nil, err
	}
	cl, secret, err := s.prepareClient(tenant, in)
	if err != nil {
		return nil, metadataErr(err)
	}
	rat, err := newToken(RegistrationTokenPrefix)
	if err != nil {
		return nil, err
	}
	var out *Registered
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if initialToken != "" {
			_, err := tx.OAuth().Registrations().UseRegistrationToken(ctx, tenant, HashSecret(initialToken), s.now())
			if errors.Is(err, store.ErrNotFound) {
				return ErrRegistrationToken
			}
			if err != nil {
				return err
			}
		}
		if err := s.insertClient(ctx, tx, actor, cl); err != nil {
			return err
		}
		raw, err := json.Marshal(md)
		if err != nil {
			return err
		}
		reg := &store.ClientRegistration{Tenant: tenant, ClientID: cl.ID, TokenHash: HashSecret(rat), Metadata: raw, CreatedAt: s.now()}
		if err := tx.OAuth().Registrations().PutClientRegistration(ctx, reg); err != nil {
			return err
		}
		out = &Registered{Client: cl, Secret: secret, RegistrationToken: rat, Metadata: md}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Registration answers a registered client and its metadata when token is
// its registration access token; ErrRegistrationToken otherwise (also for
// clients not registered dynamically, and other tenants').
func (s *Service) Registration(ctx context.Context, tenant store.TenantID, clientID, token string) (*store.Client, Metadata, error) {
	var md Metadata
	reg, err := s.Store.OAuth().Registrations().GetClientRegistration(ctx, tenant, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, md, ErrRegistrationToken
	}
	if err != nil {
		return nil, md, err
	}
	if !strings.HasPrefix(token, RegistrationTokenPrefix) || subtle.ConstantTimeCompare(reg.TokenHash, HashSecret(token)) != 1 {
		return nil, md, ErrRegistrationToken
	}
	cl, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, clientID)
	if err != nil {
		return nil, md, err
	}
	if err := json.Unmarshal(reg.Metadata, &md); err != nil {
		return nil, md, err
	}
	return cl, md, nil
}

// UpdateRegistration replaces the client's metadata (RFC 7592 2.2) under
// the policy: what is omitted takes its default. Whether the client is
// public is fixed at registration. The answer carries a new registration
// access token; the old one stops working. Audited as a client update.
// Errors: ErrRegistrationToken, *RegistrationError.
func (s *Service) UpdateRegistration(ctx context.Context, actor events.Actor, tenant store.TenantID, clientID, token string,
	md Metadata, policy RegistrationPolicy) (*Registered, error) {
	old, _, err := s.Registration(ctx, tenant, clientID, token)
	if err != nil {
		return nil, err
	}
	md.SoftwareStatement = ""
	in, err := md.newClient(policy)
	if err != nil {
		return nil, err
	}
	if in.Public != old.Public {
		return nil, regErr("invalid_client_metadata", "token_endpoint_auth_method cannot change between none and a confidential method")
	}
	// Each update rotates the registration access token (RFC 7592 2.2):
	// the old one stops working.
	rat, err := newToken(RegistrationTokenPrefix)
	if err != nil {
		return nil, err
	}
	p := ClientPatch{Name: &in.Name, RedirectURIs: &in.RedirectURIs, PostLogoutRedirectURIs: &in.PostLogoutRedirectURIs,
		GrantTypes: &in.GrantTypes, Scopes: &in.Scopes, TokenEndpointAuthMethod: &in.TokenEndpointAuthMethod,
		IDTokenSignedResponseAlg: &in.IDTokenSignedResponseAlg, BackchannelLogoutURI: &in.BackchannelLogoutURI,
		JWKS: in.JWKS, DPoPBoundAccessTokens: &in.DPoPBoundAccessTokens,
		// RFC 7592 2.2: the update replaces the metadata, CIBA's included.
		RequestMetadataPatch: RequestMetadataPatch{BackchannelTokenDeliveryMode: &in.BackchannelTokenDeliveryMode,
			BackchannelClientNotificationEndpoint: &in.BackchannelClientNotificationEndpoint,
			BackchannelUserCodeParameter:          &in.BackchannelUserCodeParameter}}
	if len(p.JWKS) == 0 {
		p.JWKS = json.RawMessage("null")
	}
	var out *Registered
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		cl, err := s.updateClient(ctx, tx, actor, tenant, clientID, 0, p)
		if err != nil {
			return metadataErr(err)
		}
		raw, err := json.Marshal(md)
		if err != nil {
			return err
		}
		reg := &store.ClientRegistration{Tenant: tenant, ClientID: clientID, TokenHash: HashSecret(rat), Metadata: raw}
		if err := tx.OAuth().Registrations().PutClientRegistration(ctx, reg); err != nil {
			return err
		}
		out = &Registered{Client: cl, Metadata: md, RegistrationToken: rat}
		return nil
	})
	return out, err
}

// DeleteRegistration deletes the client (RFC 7592 2.3), audited.
// Errors: ErrRegistrationToken.
func (s *Service) DeleteRegistration(ctx context.Context, actor events.Actor, tenant store.TenantID, clientID, token string) error {
	if _, _, err := s.Registration(ctx, tenant, clientID, token); err != nil {
		return err
	}
	return s.DeleteClient(ctx, actor, tenant, clientID)
}

// overlay sets md's members from a software statement's claims (RFC 7591
// 3.1.1: they take precedence).
func overlay(md *Metadata, claims map[string]any) error {
	if claims == nil {
		return nil
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return regErr("invalid_software_statement", "the software statement's claims are not metadata")
	}
	if err := json.Unmarshal(raw, md); err != nil {
		return regErr("invalid_software_statement", "the software statement's claims are not metadata")
	}
	return nil
}

// newClient turns metadata into a client under policy, or refuses it.
func (md Metadata) newClient(policy RegistrationPolicy) (NewClient, error) {
	grants := md.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode}
	}
	for _, g := range grants {
		if !slices.Contains(policy.grants(), g) {
			return NewClient{}, regErr("invalid_client_metadata", "grant type "+quote(g)+" is not allowed for registered clients")
		}
	}
	for _, rt := range md.ResponseTypes {
		if rt != "code" {
			return NewClient{}, regErr("invalid_client_metadata", "only the code response type is supported")
		}
	}
	if md.JWKSURI != "" {
		return NewClient{}, regErr("invalid_client_metadata", "jwks_uri is not supported; register the keys as jwks")
	}
	for _, u := range append(slices.Clone(md.RedirectURIs), md.PostLogoutRedirectURIs...) {
		scheme, _, _ := strings.Cut(u, ":")
		if !slices.Contains(policy.schemes(), strings.ToLower(scheme)) {
			return NewClient{}, regErr("invalid_redirect_uri", "a redirect URI's scheme is not allowed for registered clients")
		}
	}
	method := md.TokenEndpointAuthMethod
	if method == "" {
		method = AuthSecretBasic
	}
	if policy.TokenEndpointAuthMethod != "" && method != policy.TokenEndpointAuthMethod {
		return NewClient{}, regErr("invalid_client_metadata", "token_endpoint_auth_method must be "+policy.TokenEndpointAuthMethod)
	}
	switch md.BackchannelTokenDeliveryMode {
	case "", "poll", "ping":
	default:
		return NewClient{}, regErr("invalid_client_metadata", "backchannel_token_delivery_mode is poll or ping")
	}
	if md.BackchannelTokenDeliveryMode == "ping" {
		var c valid.Collector
		checkURI(&c, "backchannel_client_notification_endpoint", "The notification endpoint", md.BackchannelClientNotificationEndpoint, false)
		if md.BackchannelClientNotificationEndpoint == "" || c.Err() != nil {
			return NewClient{}, regErr("invalid_client_metadata", "ping mode needs an https backchannel_client_notification_endpoint")
		}
	}
	for _, f := range []string{md.ClientURI, md.LogoURI, md.TOSURI, md.PolicyURI} {
		if f != "" && (len(f) > MaxURILength || !strings.HasPrefix(f, "https://")) {
			return NewClient{}, regErr("invalid_client_metadata", "client_uri, logo_uri, tos_uri and policy_uri must be https URIs")
		}
	}
	if len(md.Contacts) > 10 || len(md.SoftwareID) > 200 || len(md.SoftwareVersion) > 100 {
		return NewClient{}, regErr("invalid_client_metadata", "too many contacts or a software id or version too long")
	}
	name := md.ClientName
	if name == "" {
		name = "Registered client"
	}
	var scopes []string
	if md.Scope != "" {
		scopes = strings.Fields(md.Scope)
	}
	return NewClient{Name: name, RedirectURIs: md.RedirectURIs, PostLogoutRedirectURIs: md.PostLogoutRedirectURIs,
		GrantTypes: grants, Scopes: scopes, Public: method == AuthNone, ThirdParty: true,
		TokenEndpointAuthMethod: method, IDTokenSignedResponseAlg: md.IDTokenSignedResponseAlg,
		BackchannelLogoutURI: md.BackchannelLogoutURI, JWKS: md.JWKS, DPoPBoundAccessTokens: md.DPoPBoundAccessTokens,
		RequestMetadata: RequestMetadata{BackchannelTokenDeliveryMode: md.BackchannelTokenDeliveryMode,
			BackchannelClientNotificationEndpoint: md.BackchannelClientNotificationEndpoint,
			BackchannelUserCodeParameter:          md.BackchannelUserCodeParameter}}, nil
}

// metadataErr maps the client rules' refusal to RFC 7591's codes.
func metadataErr(err error) error {
	var ve *valid.Error
	if !errors.As(err, &ve) {
		return err
	}
	f := ve.Fields[0]
	code := "invalid_client_metadata"
	if f.Field == "redirect_uris" || f.Field == "post_logout_redirect_uris" {
		code = "invalid_redirect_uri"
	}
	return regErr(code, f.Field+": "+f.Message)
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
