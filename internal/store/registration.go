package store

import (
	"context"
	"encoding/json"
	"time"
)

// TokenExchangePolicy is what a client may do with token exchange (RFC
// 8693) beyond the default, which is: exchange a subject token issued to
// any client of its tenant for an access token for itself.
type TokenExchangePolicy struct {
	// Audiences are the other audiences and resources (client ids or
	// absolute URIs) the client may ask a token for.
	Audiences []string `json:"audiences,omitempty"`
	// Actors are the clients whose tokens it accepts as actor tokens,
	// besides its own.
	Actors []string `json:"actors,omitempty"`
}

// ClientRegistration is what dynamic registration (RFC 7591) keeps of a
// client it created: the hash of the registration access token that reads,
// updates and deletes it (RFC 7592), and the client metadata as registered
// (fields Client has no column for, such as CIBA's, are read from here).
type ClientRegistration struct {
	Tenant    TenantID
	ClientID  string
	TokenHash []byte
	Metadata  json.RawMessage
	CreatedAt time.Time
}

// RegistrationToken is an initial access token (RFC 7591 3): it may
// register MaxUses clients before ExpiresAt. Only its SHA-256 is kept.
type RegistrationToken struct {
	ID        string
	Tenant    TenantID
	Hash      []byte
	MaxUses   int
	Uses      int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Registrations stores dynamic registration's records.
type Registrations interface {
	// PutClientRegistration creates or replaces the client's record;
	// ErrNotFound when the client does not exist in the tenant. The record
	// goes with the client.
	PutClientRegistration(ctx context.Context, r *ClientRegistration) error
	// GetClientRegistration: ErrNotFound when the client has none.
	GetClientRegistration(ctx context.Context, tenant TenantID, clientID string) (*ClientRegistration, error)
	// CreateRegistrationToken: ErrConflict when the id or hash is taken,
	// ErrNotFound when the tenant does not exist.
	CreateRegistrationToken(ctx context.Context, t *RegistrationToken) error
	// UseRegistrationToken counts one use of the token of hash, decided in
	// the database: of concurrent uses no more than MaxUses succeed. It
	// answers the token after the use; ErrNotFound when there is no such
	// token, it has expired at now, or its uses are spent.
	UseRegistrationToken(ctx context.Context, tenant TenantID, hash []byte, now time.Time) (*RegistrationToken, error)
}
