package store

import (
	"context"
	"encoding/json"
	"time"
)

// ConnectionRepos are the aggregates of identity brokering (issue 9):
// upstream identity providers of a tenant, the identities users linked
// from them, and the short-lived state of logins in flight. Store and Tx
// provide them through Connections().
type ConnectionRepos interface {
	Connections() Connections
	Identities() Identities
	BrokerStates() BrokerStates
}

// Connection is an upstream identity provider of a tenant (an OpenID
// Provider, an OAuth 2.0 server or a SAML IdP). Config holds its
// non-secret settings as JSON (internal/connection owns their shape);
// SealedSecret is the client secret or signing key, sealed with the master
// key bound to (tenant, id), nil when there is none.
type Connection struct {
	ID           string
	Tenant       TenantID
	Name         string
	Type         string
	DisplayName  string
	Enabled      bool
	Config       json.RawMessage
	SealedSecret []byte
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Connections stores a tenant's connections.
type Connections interface {
	// CreateConnection inserts c; ErrConflict when the name is taken in
	// the tenant, ErrNotFound when the tenant does not exist.
	CreateConnection(ctx context.Context, c *Connection) error
	// GetConnection and GetConnectionByName answer ErrNotFound when the
	// connection is not the tenant's.
	GetConnection(ctx context.Context, tenant TenantID, id string) (*Connection, error)
	GetConnectionByName(ctx context.Context, tenant TenantID, name string) (*Connection, error)
	// ListConnections answers a page of the tenant's connections by id.
	ListConnections(ctx context.Context, tenant TenantID, p Page) ([]Connection, error)
	// UpdateConnection runs fn on a copy of the current record under a row
	// lock and stores the result with Version+1; fn's error is returned
	// unchanged and nothing is written. ErrNotFound, ErrConflict (name).
	UpdateConnection(ctx context.Context, tenant TenantID, id string, fn func(*Connection) error) (*Connection, error)
	// DeleteConnection removes the connection and every identity linked
	// through it. ErrNotFound when it is not the tenant's.
	DeleteConnection(ctx context.Context, tenant TenantID, id string) error
}

// Identity links a user to an account at an upstream provider: the
// provider's stable subject through one connection. SealedTokens are the
// upstream tokens, sealed bound to (tenant, id), kept only when the
// connection asks for them.
type Identity struct {
	ID           string
	Tenant       TenantID
	UserID       string
	ConnectionID string
	Subject      string
	// Email is the upstream address as last seen (display only).
	Email        string
	SealedTokens []byte
	CreatedAt    time.Time
	LastLoginAt  time.Time
}

// Identities stores linked identities. They go with their user and with
// their connection.
type Identities interface {
	// CreateIdentity inserts i. ErrConflict when (connection, subject) is
	// already linked in the tenant (to anyone), ErrNotFound when the user
	// or the connection is missing in the tenant.
	CreateIdentity(ctx context.Context, i *Identity) error
	// GetIdentityBySubject answers ErrNotFound when nobody linked subject.
	GetIdentityBySubject(ctx context.Context, tenant TenantID, connectionID, subject string) (*Identity, error)
	// ListUserIdentities answers the user's identities by id (none: empty).
	ListUserIdentities(ctx context.Context, tenant TenantID, userID string) ([]Identity, error)
	// ListConnectionIdentities answers a page of the identities linked
	// through one connection, by subject (Page.After is a subject).
	ListConnectionIdentities(ctx context.Context, tenant TenantID, connectionID string, p Page) ([]Identity, error)
	// TouchIdentity records a login at at, with the email seen and, when
	// sealedTokens is not nil, the new sealed tokens (an empty non-nil
	// slice clears them). ErrNotFound when there is no such identity.
	TouchIdentity(ctx context.Context, tenant TenantID, id string, at time.Time, email string, sealedTokens []byte) error
	// DeleteIdentity removes the user's identity id; ErrNotFound when it
	// is not that user's in the tenant.
	DeleteIdentity(ctx context.Context, tenant TenantID, userID, id string) error
}

// BrokerState is a login at an upstream provider in flight, or a link that
// waits for the user to prove the existing account: found by the SHA-256
// of the random value the browser carries (Hash), for one Purpose, until
// ExpiresAt. Sealed is its content, sealed bound to (tenant, hash).
type BrokerState struct {
	Tenant    TenantID
	Hash      []byte
	Purpose   string
	Sealed    []byte
	ExpiresAt time.Time
}

// BrokerStates stores broker states. Each is used once.
type BrokerStates interface {
	// PutState inserts s; ErrConflict when the hash is taken.
	PutState(ctx context.Context, s *BrokerState) error
	// TakeState removes and answers the live state of (purpose, hash): of
	// two concurrent takes exactly one gets it. ErrNotFound when there is
	// none, it expired or it was taken already.
	TakeState(ctx context.Context, tenant TenantID, purpose string, hash []byte) (*BrokerState, error)
	// PurgeStates removes states that expired before now.
	PurgeStates(ctx context.Context, now time.Time) error
}
