package store

import (
	"encoding/json"
	"time"
)

// Tenant is an isolated directory with its own issuer, keys and policies.
type Tenant struct {
	ID   TenantID
	Slug string
	Name string
	// Settings is the tenant's policy document (password policy, ...), JSON.
	Settings  json.RawMessage
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserStatus is a user's lifecycle state.
type UserStatus string

// User statuses.
const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
	UserLocked   UserStatus = "locked"
)

// Valid reports whether s is a known status.
func (s UserStatus) Valid() bool {
	return s == UserActive || s == UserDisabled || s == UserLocked
}

// User is a person (or service account) of a tenant's directory.
type User struct {
	ID     string
	Tenant TenantID
	// Email as typed, for display; EmailNorm is the lookup key.
	Email     string
	EmailNorm string
	// Username is optional; UsernameNorm is "" when it is unset.
	Username      string
	UsernameNorm  string
	GivenName     string
	FamilyName    string
	Phone         string
	Locale        string
	Status        UserStatus
	EmailVerified bool
	// EmailVerifiedUpstream says the address counts as verified only on
	// an upstream's word (an account created by social login through a
	// connection the tenant does not trust for the address): nobody has
	// proven the mailbox here yet, so its first proof by mail still
	// claims the account for the mailbox's owner.
	EmailVerifiedUpstream bool
	PhoneVerified         bool
	// Attributes is a JSON object, never nil once stored ("{}" at least).
	Attributes json.RawMessage
	// PasswordHash is a PHC string, "" when the user has no password.
	PasswordHash string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
}

// Group is a named set of users and nested groups.
type Group struct {
	ID          string
	Tenant      TenantID
	Name        string
	Description string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MemberType says whether a member is a user or a nested group.
type MemberType string

// Member types.
const (
	MemberUser  MemberType = "user"
	MemberGroup MemberType = "group"
)

// Member is a direct member of a group.
type Member struct {
	Type MemberType
	ID   string
}

// APIKey is a management API credential; only the hash of its token is kept.
type APIKey struct {
	ID string
	// Tenant is PlatformTenant for platform-wide keys.
	Tenant TenantID
	Name   string
	Scopes []string
	// Hash is SHA-256 of the whole token.
	Hash []byte
	// Hint is the token's first characters, for recognising it in lists.
	Hint       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Active reports whether the key may be used at now.
func (k *APIKey) Active(now time.Time) bool {
	if k.RevokedAt != nil {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// KeyStatus is a signing key's place in its rotation.
type KeyStatus string

// Signing key states: next keys are published but do not sign yet; active
// keys sign; retired keys are still published until their tokens expire.
const (
	KeyNext    KeyStatus = "next"
	KeyActive  KeyStatus = "active"
	KeyRetired KeyStatus = "retired"
)

// SigningKey is one asymmetric key of a tenant.
type SigningKey struct {
	ID     string // the JWK kid
	Tenant TenantID
	Alg    string // RS256, ES256, EdDSA
	Status KeyStatus
	// PublicKey is PKIX DER; Sealed is the PKCS#8 DER private key sealed
	// with the master key, bound to (tenant, id).
	PublicKey []byte
	Sealed    []byte
	Version   int64
	CreatedAt time.Time
	// RetireAt, when set, is when a retired key leaves the published set.
	RetireAt *time.Time
}
