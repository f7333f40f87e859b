package store

import (
	"context"
	"time"
)

// Factor kinds.
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
	FactorEmail    = "email"
)

// Factor is one second factor a user enrolled. Secret is opaque to the
// store: the mfa service seals it with the master key (bound to tenant and
// factor id) before it gets here, so a raw row holds no seed.
type Factor struct {
	ID     string
	Tenant TenantID
	UserID string
	Kind   string
	// Name is the user's label ("work laptop"); unique per user and kind
	// is not required.
	Name string
	// Secret is the sealed TOTP seed or WebAuthn credential.
	Secret []byte
	// CredentialID is a WebAuthn credential's id (lookup for passwordless
	// login); nil for other kinds.
	CredentialID []byte
	// Confirmed is false between enrolment and the first good code.
	Confirmed bool
	// LastStep is the last TOTP time step accepted (replay guard).
	LastStep   int64
	SignCount  int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// MFARepos are the multi-factor aggregates. Store and Tx provide them
// through MFA().
type MFARepos interface {
	Factors() Factors
	RecoveryCodes() RecoveryCodes
	Ceremonies() Ceremonies
}

// Factors stores users' second factors.
type Factors interface {
	// CreateFactor inserts f (CreatedAt now when unset). ErrNotFound when
	// the user is missing in the tenant, ErrConflict when the id or the
	// credential id is taken in the tenant.
	CreateFactor(ctx context.Context, f *Factor) error
	// GetFactorByCredential finds a WebAuthn factor by its credential id
	// (a passwordless login names only that). ErrNotFound when none.
	GetFactorByCredential(ctx context.Context, tenant TenantID, credentialID []byte) (*Factor, error)
	// GetFactor: ErrNotFound when there is none in the tenant.
	GetFactor(ctx context.Context, tenant TenantID, id string) (*Factor, error)
	// ListFactors answers the user's factors by id (creation order).
	ListFactors(ctx context.Context, tenant TenantID, userID string) ([]Factor, error)
	// UpdateFactor reads, lets fn change, and writes f in one transaction.
	// fn's error is returned unchanged and nothing is written.
	UpdateFactor(ctx context.Context, tenant TenantID, id string, fn func(*Factor) error) (*Factor, error)
	// UseStep records TOTP step as used at at, only if it is greater than
	// the factor's LastStep: the database decides, so a code accepted on one
	// node is refused on every other. ErrConflict when step <= LastStep,
	// ErrNotFound when there is no such factor.
	UseStep(ctx context.Context, tenant TenantID, id string, step int64, at time.Time) error
	// DeleteFactor removes one of the user's factors; ErrNotFound when the
	// factor is not the user's.
	DeleteFactor(ctx context.Context, tenant TenantID, userID, id string) error
	// DeleteUserFactors removes all the user's factors and recovery codes
	// and answers how many factors went.
	DeleteUserFactors(ctx context.Context, tenant TenantID, userID string) (int, error)
}

// RecoveryCodes stores the hashes of a user's recovery codes.
type RecoveryCodes interface {
	// ReplaceRecoveryCodes drops every code of the user and stores hashes
	// instead, at once. ErrNotFound when the user is missing.
	ReplaceRecoveryCodes(ctx context.Context, tenant TenantID, userID string, hashes [][]byte, at time.Time) error
	// UseRecoveryCode spends the unused code with hash: one conditional
	// update, so two concurrent uses cannot both win. ErrNotFound when no
	// unused code of the user has that hash.
	UseRecoveryCode(ctx context.Context, tenant TenantID, userID string, hash []byte, at time.Time) error
	// CountRecoveryCodes answers how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, tenant TenantID, userID string) (int, error)
}

// Ceremonies holds WebAuthn ceremonies between their two steps, by the
// hash of a ticket the browser keeps.
type Ceremonies interface {
	// PutCeremony stores data under hash until expires. ErrConflict when
	// the hash is taken.
	PutCeremony(ctx context.Context, tenant TenantID, hash, data []byte, expires time.Time) error
	// TakeCeremony deletes and answers the live ceremony of hash: of two
	// concurrent takes one wins. ErrNotFound when none (or expired at now).
	TakeCeremony(ctx context.Context, tenant TenantID, hash []byte, now time.Time) ([]byte, error)
	// DeleteExpiredCeremonies removes ceremonies expired before now.
	DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error)
}
