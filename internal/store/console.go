package store

import (
	"context"
	"time"
)

// SetupToken is the first-run setup link's secret, kept only as its
// SHA-256: single use, valid until ExpiresAt. It belongs to no tenant (it
// creates the first platform administrator).
type SetupToken struct {
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Console stores what the admin console keeps of its own: first-run
// setup tokens and the id of its OpenID Connect client in each tenant.
type Console interface {
	// CreateSetupToken inserts t. ErrConflict when the hash is taken.
	CreateSetupToken(ctx context.Context, t *SetupToken) error
	// PeekSetupToken answers the live token of hash (unused, ExpiresAt
	// after now) without spending it; ErrNotFound otherwise, so an unknown
	// token cannot be told from a spent one.
	PeekSetupToken(ctx context.Context, hash []byte, now time.Time) (*SetupToken, error)
	// ConsumeSetupToken marks the live token of hash used and answers it;
	// ErrNotFound when none is live. Decided in the database: of
	// concurrent calls exactly one wins.
	ConsumeSetupToken(ctx context.Context, hash []byte, now time.Time) (*SetupToken, error)
	// ConsoleClient answers the client_id of the console's client in
	// tenant; ErrNotFound when none was registered.
	ConsoleClient(ctx context.Context, tenant TenantID) (string, error)
	// SetConsoleClient records clientID as tenant's console client;
	// ErrConflict when one is recorded already, ErrNotFound when the
	// tenant is missing.
	SetConsoleClient(ctx context.Context, tenant TenantID, clientID string, at time.Time) error
	// ForgetConsoleClient removes tenant's record when it still names
	// clientID (the client was deleted); nothing otherwise, no error.
	ForgetConsoleClient(ctx context.Context, tenant TenantID, clientID string) error
}
