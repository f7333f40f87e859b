package store

import (
	"context"
	"encoding/json"
	"time"
)

// OAuthRepos are the aggregates of the OpenID provider. Store and Tx
// provide them through OAuth().
//
// Beyond doc.go: what a client was issued (authorization requests, tokens,
// consents, device codes) names it by ClientID and goes when the client is
// deleted; creating such a record for a client missing in the tenant
// answers ErrNotFound. Likewise what names a user (sessions, consents,
// tokens, and requests and device codes once UserID is set) goes with the
// user, and a missing user answers ErrNotFound. Deleting a tenant removes
// all of it. "Expired" means ExpiresAt <= now on the store's clock.
type OAuthRepos interface {
	Clients() Clients
	AuthRequests() AuthRequests
	Tokens() Tokens
	Sessions() Sessions
	Throttle() Throttle
	Recognition() Recognition
	Consents() Consents
	DeviceCodes() DeviceCodes
	// Registrations keeps dynamic registration's records (registration.go).
	Registrations() Registrations
	// CIBA answers backchannel authentication requests (ciba.go).
	CIBA() CIBARequests
	// AuthorizationDetails answers RFC 9396 detail types and requests'
	// details (rar.go).
	AuthorizationDetails() AuthorizationDetails
}

// Client is an OAuth 2 / OpenID Connect client (relying party).
type Client struct {
	ID     string // the client_id
	Tenant TenantID
	Name   string
	// SecretHash is SHA-256 of the client secret (256 random bits, so a
	// fast hash is safe); nil for public clients and private_key_jwt.
	SecretHash []byte
	Public     bool
	// AuthMethod: client_secret_basic, client_secret_post, private_key_jwt, none.
	AuthMethod             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	// Scopes the client may ask for; empty means the standard OIDC scopes.
	Scopes []string
	// ThirdParty clients get a consent screen; first-party ones do not.
	ThirdParty      bool
	IDTokenAlg      string // RS256 default
	AccessTokenAlg  string // ES256 default
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	// BackchannelLogoutURI receives logout tokens; "" when not registered.
	BackchannelLogoutURI string
	// JWKS holds the client's public keys for private_key_jwt.
	JWKS json.RawMessage
	// ClaimMappings maps token claim names to user attribute names.
	ClaimMappings map[string]string
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time

	// AuthzClaims chooses the role and permission claims (migration 0003).
	AuthzClaims AuthzClaims
	// AllowedOrigins are web origins (scheme://host[:port]) that may call
	// the token, userinfo and revocation endpoints from a browser, besides
	// the origins of RedirectURIs.
	AllowedOrigins []string
	// Introspection is what the client learns at the introspection
	// endpoint: "own" (tokens issued to it) or "audience" (a resource
	// server: every access token of the tenant).
	Introspection string
	// DPoPBound (dpop_bound_access_tokens) makes DPoP (RFC 9449) mandatory
	// for the client's token requests; DPoPNonce also requires a server
	// nonce in every proof (RFC 9449 8).
	DPoPBound bool
	DPoPNonce bool
	// TokenExchange widens what the client may do with token exchange
	// (registration.go).
	TokenExchange TokenExchangePolicy
	// Security is the mutual-TLS registration and the security profile
	// (clientsecurity.go).
	Security ClientSecurity
	// CIBA client metadata (OpenID CIBA Core 1.0 section 4):
	// BackchannelTokenDelivery is "" (no CIBA), "poll" or "ping"; ping
	// notifications go to BackchannelNotificationEndpoint.
	BackchannelTokenDelivery        string
	BackchannelNotificationEndpoint string
	BackchannelUserCodeParameter    bool
	// RequireSignedRequestObject (RFC 9101 10.5): every authorization
	// request must come as a signed request object.
	RequireSignedRequestObject bool
	// OmitRefreshIDToken makes a refresh a pure access-token renewal: no
	// new ID token (OIDC Core 12.2 allows it); false, the default, sends
	// one whenever the refreshed scopes include openid (migration 0052).
	OmitRefreshIDToken bool
}

// Clients stores a tenant's OAuth clients.
type Clients interface {
	// CreateClient: ErrConflict when the id is taken.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient, ListClients (by id) and UpdateClient follow doc.go.
	GetClient(ctx context.Context, tenant TenantID, id string) (*Client, error)
	ListClients(ctx context.Context, tenant TenantID, p Page) ([]Client, error)
	UpdateClient(ctx context.Context, tenant TenantID, id string, fn func(*Client) error) (*Client, error)
	// DeleteClient removes the client and everything issued to it, so a
	// client later created with the same id inherits no grant.
	DeleteClient(ctx context.Context, tenant TenantID, id string) error
}

// AuthRequest is one authorization request on its way through the login
// flow: what the client asked, and once the user is known, who and how.
type AuthRequest struct {
	ID                  string
	Tenant              TenantID
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              *time.Duration
	LoginHint           string
	UILocales           []string
	ACRValues           []string
	// Set when the user has authenticated.
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	Done      bool
	// CodeHash is SHA-256 of the issued authorization code ("" before).
	CodeHash  []byte
	CodeUsed  bool
	CreatedAt time.Time
	ExpiresAt time.Time
	// Source is the network of the client that started the request (""
	// when unknown); set at creation, never changed.
	Source string
	// DPoPJKT is the dpop_jkt parameter (RFC 9449 10): the thumbprint of
	// the key whose proof must come with the code; "" when none. Set at
	// creation, never changed.
	DPoPJKT string
}

// AuthRequests stores authorization requests.
type AuthRequests interface {
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	// GetAuthRequest: ErrNotFound also once it has expired.
	GetAuthRequest(ctx context.Context, tenant TenantID, id string) (*AuthRequest, error)
	// UpdateAuthRequest: ErrNotFound also once it has expired.
	UpdateAuthRequest(ctx context.Context, tenant TenantID, id string, fn func(*AuthRequest) error) (*AuthRequest, error)
	// DeleteAuthRequest deletes it, expired or not.
	DeleteAuthRequest(ctx context.Context, tenant TenantID, id string) error
	// CountPendingAuthRequests counts the tenant's requests from source
	// that are neither done nor expired at now.
	CountPendingAuthRequests(ctx context.Context, tenant TenantID, source string, now time.Time) (int, error)
	// ConsumeCode marks the code of codeHash used and returns its request.
	// Decided in the database: of two concurrent calls exactly one wins; the
	// other, and any later call, gets the request with ErrConflict so the
	// caller can revoke what the first use produced. ErrNotFound when no
	// request has that code or it has expired (used or not).
	ConsumeCode(ctx context.Context, tenant TenantID, codeHash []byte) (*AuthRequest, error)
}

// RefreshToken is one opaque refresh token (only its hash is kept). Tokens
// rotated from one another share a FamilyID.
type RefreshToken struct {
	ID        string
	Tenant    TenantID
	Hash      []byte
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	Audience  []string
	AuthTime  time.Time
	AMR       []string
	// Kind is how the family began: GrantCode or GrantDevice ("" is
	// stored as GrantCode).
	Kind string
	// JKT is the RFC 7638 thumbprint of the DPoP key the token is bound
	// to (RFC 9449 5): a refresh must prove possession of that key. ""
	// for an unbound token. Every successor in the family keeps it.
	JKT       string
	CreatedAt time.Time
	ExpiresAt time.Time
	// RotatedAt is set once the token has been exchanged for its successor.
	RotatedAt *time.Time
	RevokedAt *time.Time
}

// How a refresh family began (RefreshToken.Kind).
const (
	GrantCode   = "code"
	GrantDevice = "device"
)

// TokenGrant is one live refresh family of a user: what a client can keep
// using without the user present. ID is the family id.
type TokenGrant struct {
	ID        string
	ClientID  string
	SessionID string // "" for a grant bound to no browser session
	Kind      string // GrantCode or GrantDevice
	CreatedAt time.Time
	// LastUsedAt is when its newest token was issued (the last refresh).
	LastUsedAt time.Time
}

// AccessToken records an issued JWT access token by its jti, so it can be
// revoked and introspected.
type AccessToken struct {
	ID        string // jti
	Tenant    TenantID
	FamilyID  string // refresh family or authorization request it came from
	ClientID  string
	UserID    string // "" for client_credentials
	SessionID string
	Scopes    []string
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// MaxAccessTokenTTL is the longest lifetime an access token can have
// (oauthclient refuses longer); revocations are kept that long.
const MaxAccessTokenTTL = 24 * time.Hour

// AccessTokenRef is what a JWT access token says of itself (it has no
// row): enough to decide whether a revocation covers it.
type AccessTokenRef struct {
	ID        string // jti
	FamilyID  string // "" for client_credentials
	ClientID  string
	UserID    string // "" for client_credentials
	SessionID string
	// IssuedAt is when it was issued, to the millisecond at least: a user
	// revocation covers tokens issued at or before it.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Tokens stores refresh tokens, access-token records and the revocations
// of JWT access tokens. Every revocation below (of a family, a session, a
// user's tokens) also covers the JWT access tokens issued under it, as
// AccessTokenRevoked answers, until they expire.
type Tokens interface {
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// GetRefreshToken answers rotated and revoked tokens too (the caller
	// decides); ErrNotFound once it has expired.
	GetRefreshToken(ctx context.Context, tenant TenantID, hash []byte) (*RefreshToken, error)
	// RotateRefreshToken exchanges the token of oldHash for next, atomically:
	// of concurrent rotations of one token exactly one succeeds, and answers
	// next as stored. When the old one was already rotated (reuse) or
	// revoked, the whole family (refresh and access tokens, the successor
	// of a concurrent winning rotation included) is revoked and the old
	// token returned with ErrConflict; ErrNotFound when there is no such
	// token or it has expired. next inherits nothing: the caller fills it,
	// and it must have the old token's FamilyID, SessionID, ClientID, Kind
	// and JKT (else an error and nothing is written). Inside Store.InTx the revocation is part of
	// the caller's transaction and is undone if fn returns an error, so
	// rotate outside InTx, or commit on ErrConflict.
	RotateRefreshToken(ctx context.Context, tenant TenantID, oldHash []byte, next *RefreshToken) (*RefreshToken, error)
	CreateAccessToken(ctx context.Context, t *AccessToken) error
	// GetAccessToken answers revoked records too; ErrNotFound once expired.
	GetAccessToken(ctx context.Context, tenant TenantID, id string) (*AccessToken, error)
	// RevokeAccessToken: ErrNotFound when there is no such record.
	RevokeAccessToken(ctx context.Context, tenant TenantID, id string) error
	// RevokeFamily revokes every refresh and access token of the family
	// (familyID must not be ""). It and RevokeSessionTokens are serialised
	// with rotations: a token a rotation issues concurrently is revoked too.
	RevokeFamily(ctx context.Context, tenant TenantID, familyID string) error
	// RevokeSessionTokens revokes every token issued under a session, or
	// only those of clientID when it is not "" (sessionID must not be "").
	RevokeSessionTokens(ctx context.Context, tenant TenantID, sessionID, clientID string) error
	// RevokeUserClientTokens revokes every refresh and access token the
	// user holds at clientID, in every session and family (a revoked
	// consent). Serialised with rotations per family like RevokeFamily.
	RevokeUserClientTokens(ctx context.Context, tenant TenantID, userID, clientID string) error
	// RevokeUserTokens revokes every refresh and access token of the user,
	// at every client, bound to a session or not (device and offline
	// grants included). Serialised with rotations per family like
	// RevokeFamily. userID must not be "".
	RevokeUserTokens(ctx context.Context, tenant TenantID, userID string) error
	// RevokeUserAccessTokens revokes the user's access tokens that expire
	// at or before notAfter (those that can carry something that ends
	// then); refresh tokens stay. userID must not be "".
	RevokeUserAccessTokens(ctx context.Context, tenant TenantID, userID string, notAfter time.Time) error
	// RevokeJWT revokes the JWT access token of jti, which expires at
	// expiresAt (the revocation is kept until then); again, or once
	// expired: no change, no error.
	RevokeJWT(ctx context.Context, tenant TenantID, jti string, expiresAt time.Time) error
	// AccessTokenRevoked reports whether a revocation covers the token:
	// its jti's, its family's (whenever it was issued), its session's (of
	// every client or of its own), or its user's (of every client or its
	// own) made at or after IssuedAt, limited to tokens expiring by the
	// revocation's notAfter for RevokeUserAccessTokens.
	AccessTokenRevoked(ctx context.Context, tenant TenantID, t AccessTokenRef) (bool, error)
	// ListUserGrants answers the user's live grants (families with an
	// unrotated, unrevoked, unexpired refresh token), oldest first.
	ListUserGrants(ctx context.Context, tenant TenantID, userID string) ([]TokenGrant, error)
	// RevokeUserGrant revokes the family id of the user (see RevokeFamily);
	// ErrNotFound when the user has no live grant of that id.
	RevokeUserGrant(ctx context.Context, tenant TenantID, userID, id string) error
	// DeleteExpired removes, in every tenant, the authorization requests,
	// refresh tokens, access-token records, device codes and revocations
	// whose ExpiresAt is before t, the sessions that ended (expired or revoked) before t,
	// and the throttle counters idle for a day before t; it returns how
	// many rows it removed.
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}

// Session is a browser session (single sign-on across a tenant's clients).
type Session struct {
	ID     string
	Tenant TenantID
	UserID string
	// TokenHash is SHA-256 of the cookie value.
	TokenHash  []byte
	AuthTime   time.Time
	AMR        []string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end; IdleTimeout ends it sooner when unused.
	ExpiresAt time.Time
	RevokedAt *time.Time
	// Clients that received tokens in this session (for back-channel logout).
	Clients []string
}

// Sessions stores browser sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	// GetSessionByToken: ErrNotFound when unknown, revoked or expired.
	GetSessionByToken(ctx context.Context, tenant TenantID, tokenHash []byte) (*Session, error)
	// GetSession answers the session in any state, revoked or expired.
	GetSession(ctx context.Context, tenant TenantID, id string) (*Session, error)
	// UpdateSession: ID, Tenant, UserID and CreatedAt cannot change.
	UpdateSession(ctx context.Context, tenant TenantID, id string, fn func(*Session) error) (*Session, error)
	// ListUserSessions answers the user's live sessions (neither revoked
	// nor expired), by id.
	ListUserSessions(ctx context.Context, tenant TenantID, userID string) ([]Session, error)
	// RevokeSession and RevokeUserSessions end sessions now (a revoked one
	// keeps its first RevokedAt); RevokeSession: ErrNotFound when unknown.
	RevokeSession(ctx context.Context, tenant TenantID, id string) error
	RevokeUserSessions(ctx context.Context, tenant TenantID, userID string) error
}

// Throttle counts failed attempts per key ("acct:…", "ip:…") across nodes.
// A run of failures lapses once its last failure is window or more before
// now (a sliding window from the last failure, so a slow, steady attacker
// never gets a fresh count). Keys need no tenant row: PlatformTenant works.
type Throttle interface {
	// Fail records a failure at now and returns the failures of the
	// current run, this one included: 1 when the previous run lapsed.
	// Concurrent calls from any node each count once.
	Fail(ctx context.Context, tenant TenantID, key string, now time.Time, window time.Duration) (int, error)
	// Failures answers the current run's count and its last failure, or
	// (0, zero time) when there is none or it lapsed.
	Failures(ctx context.Context, tenant TenantID, key string, now time.Time, window time.Duration) (int, time.Time, error)
	// Reset clears a key (after a success or an admin unlock).
	Reset(ctx context.Context, tenant TenantID, key string) error
}

// Consent is a user's remembered grant of scopes to a third-party client.
type Consent struct {
	Tenant    TenantID
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Consents stores consents.
type Consents interface {
	// PutConsent creates or replaces the consent of (user, client); a
	// replaced one keeps its CreatedAt, UpdatedAt is now.
	PutConsent(ctx context.Context, c *Consent) error
	GetConsent(ctx context.Context, tenant TenantID, userID, clientID string) (*Consent, error)
	// ListConsents answers the user's consents by client id.
	ListConsents(ctx context.Context, tenant TenantID, userID string) ([]Consent, error)
	DeleteConsent(ctx context.Context, tenant TenantID, userID, clientID string) error
}

// DeviceCode is one RFC 8628 device authorization.
type DeviceCode struct {
	Tenant         TenantID
	DeviceCodeHash []byte
	UserCode       string // normalised: upper case, no dash
	ClientID       string
	Scopes         []string
	ExpiresAt      time.Time
	// State: pending, approved, denied.
	State     string
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	// LastPoll enforces the polling interval (slow_down).
	LastPoll *time.Time
	// Done is set once the device has received its tokens.
	Done bool
}

// DeviceCodes stores device authorizations.
type DeviceCodes interface {
	// CreateDeviceCode: ErrConflict when the user code is taken in the
	// tenant (retry with another). State defaults to pending. An expired
	// authorization frees its user code.
	CreateDeviceCode(ctx context.Context, d *DeviceCode) error
	// GetByDeviceCode, GetByUserCode and UpdateDeviceCode: ErrNotFound
	// also once it has expired. UpdateDeviceCode holds the row while fn
	// runs, so concurrent polls see each other's changes.
	GetByDeviceCode(ctx context.Context, tenant TenantID, deviceCodeHash []byte) (*DeviceCode, error)
	GetByUserCode(ctx context.Context, tenant TenantID, userCode string) (*DeviceCode, error)
	UpdateDeviceCode(ctx context.Context, tenant TenantID, deviceCodeHash []byte, fn func(*DeviceCode) error) (*DeviceCode, error)
}
