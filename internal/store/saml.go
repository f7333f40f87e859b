package store

import (
	"context"
	"time"
)

// SAMLRepos are the SAML identity provider's aggregates. Store and Tx
// provide them through SAML().
//
// Beyond doc.go: pending requests and session participants name their
// service provider and go when it is deleted; participants also go with
// their session. Creating either for a provider or session missing in the
// tenant answers ErrNotFound. "Expired" means ExpiresAt <= now on the
// store's clock.
type SAMLRepos interface {
	ServiceProviders() SAMLServiceProviders
	Requests() SAMLRequests
	Participants() SAMLParticipants
	Consents() SAMLConsents
}

// SAMLEndpoint is an assertion consumer service of a service provider.
type SAMLEndpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
	Index    int    `json:"index"`
	Default  bool   `json:"is_default,omitempty"`
}

// SAMLServiceProvider is a registered SAML 2.0 service provider.
type SAMLServiceProvider struct {
	ID       string // UUIDv7
	Tenant   TenantID
	Name     string
	EntityID string // unique in the tenant
	ACS      []SAMLEndpoint
	// SLOURL receives LogoutRequests and LogoutResponses with SLOBinding;
	// "" when the provider has no single logout.
	SLOURL     string
	SLOBinding string
	// Certificate is the provider's certificate (PEM), verifying its
	// signed requests and encrypting assertions to it; "" for none.
	Certificate  string
	NameIDFormat string
	// AttributeMapping maps SAML attribute names to profile sources.
	AttributeMapping map[string]string
	SignAssertion    bool
	SignResponse     bool
	EncryptAssertion bool
	// RequestsSigned: every AuthnRequest and LogoutRequest must be signed.
	RequestsSigned bool
	// ConsentRequired: the user approves the attributes released to the
	// provider (the login's consent step) before an assertion is sent.
	ConsentRequired bool
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time

	// DefaultRelayState is the RelayState of IdP-initiated logins ("" for
	// none): an absolute https URL or a relative path.
	DefaultRelayState string
}

// SAMLServiceProviders stores a tenant's service providers.
type SAMLServiceProviders interface {
	// CreateSP: ErrConflict when the entity ID is taken in the tenant,
	// ErrNotFound when the tenant does not exist.
	CreateSP(ctx context.Context, sp *SAMLServiceProvider) error
	GetSP(ctx context.Context, tenant TenantID, id string) (*SAMLServiceProvider, error)
	// GetSPByEntityID: ErrNotFound when no provider of the tenant has it.
	GetSPByEntityID(ctx context.Context, tenant TenantID, entityID string) (*SAMLServiceProvider, error)
	ListSPs(ctx context.Context, tenant TenantID, p Page) ([]SAMLServiceProvider, error)
	// UpdateSP follows doc.go; ErrConflict when the new entity ID is taken.
	UpdateSP(ctx context.Context, tenant TenantID, id string, fn func(*SAMLServiceProvider) error) (*SAMLServiceProvider, error)
	// DeleteSP removes it with its pending requests and participations.
	DeleteSP(ctx context.Context, tenant TenantID, id string) error
}

// SAMLRequest is an AuthnRequest (or an IdP-initiated login) waiting for
// the user's login. Its ID is also the login flow's request id.
type SAMLRequest struct {
	ID     string
	Tenant TenantID
	SPID   string
	// RequestID is the AuthnRequest's ID, answered as InResponseTo; ""
	// for an IdP-initiated login.
	RequestID  string
	ACSURL     string
	ACSBinding string
	RelayState string
	ForceAuthn bool
	IsPassive  bool
	// AuthnContext lists the RequestedAuthnContext class references, with
	// their Comparison.
	AuthnContext           []string
	AuthnContextComparison string
	NameIDFormat           string // the NameIDPolicy's format, "" if none
	Used                   bool
	CreatedAt              time.Time
	ExpiresAt              time.Time
}

// SAMLRequests stores pending requests. A request ID is accepted once per
// service provider, ever: that is what stops a replayed AuthnRequest.
type SAMLRequests interface {
	// CreateRequest: ErrConflict when the provider's RequestID was seen
	// before (whether or not that request expired); an empty RequestID
	// never conflicts. ErrNotFound when the provider does not exist.
	CreateRequest(ctx context.Context, r *SAMLRequest) error
	// GetRequest: ErrNotFound also once it has expired.
	GetRequest(ctx context.Context, tenant TenantID, id string) (*SAMLRequest, error)
	// ConsumeRequest marks it used and returns it. Decided in the
	// database: of two concurrent calls one wins; the other, and any later
	// call, gets ErrConflict. ErrNotFound when unknown or expired.
	ConsumeRequest(ctx context.Context, tenant TenantID, id string) (*SAMLRequest, error)
	// DeleteExpired removes, in every tenant, requests that expired before
	// before. Their IDs may then be seen again; the identity provider
	// refuses AuthnRequests issued more than 90 s ago, far less than a
	// request's lifetime, so a replay of a deleted one is still refused.
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}

// SAMLParticipant records that a session sent an assertion to a provider:
// single logout tells it.
type SAMLParticipant struct {
	Tenant       TenantID
	SessionID    string
	SPID         string
	NameID       string
	NameIDFormat string
	SessionIndex string
	CreatedAt    time.Time
}

// SAMLParticipants stores session participations.
type SAMLParticipants interface {
	// AddParticipant inserts or replaces the (session, provider) record.
	// ErrNotFound when the session or the provider is missing.
	AddParticipant(ctx context.Context, p *SAMLParticipant) error
	// ListParticipants answers a session's participants, oldest first.
	ListParticipants(ctx context.Context, tenant TenantID, sessionID string) ([]SAMLParticipant, error)
	// FindParticipants answers the participations of the provider whose
	// NameID is nameID (what a LogoutRequest names).
	FindParticipants(ctx context.Context, tenant TenantID, spID, nameID string) ([]SAMLParticipant, error)
}

// SAMLConsent is what a user approved releasing to a service provider:
// the SAML attribute names of its attribute mapping.
type SAMLConsent struct {
	Tenant     TenantID
	UserID     string
	SPID       string
	Attributes []string // sorted
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SAMLConsents stores attribute-release consents.
type SAMLConsents interface {
	// PutSAMLConsent inserts or replaces the (user, provider) grant.
	// ErrNotFound when the user or the provider is missing in the tenant.
	PutSAMLConsent(ctx context.Context, c *SAMLConsent) error
	// GetSAMLConsent: ErrNotFound when the user granted the provider nothing.
	GetSAMLConsent(ctx context.Context, tenant TenantID, userID, spID string) (*SAMLConsent, error)
}
