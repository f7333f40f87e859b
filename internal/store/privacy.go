package store

import (
	"context"
	"time"
)

// PrivacyRepos are the aggregates of data-subject rights: per-user data
// keys (the crypto-shredding of the audit log), legal holds, erasure,
// data-subject requests and retention notices. Store and Tx provide them
// through Privacy().
type PrivacyRepos interface {
	// UserKey answers the user's data key as sealed with the master key;
	// ErrNotFound when there is none (never made, or destroyed by an
	// erasure).
	UserKey(ctx context.Context, tenant TenantID, userID string) ([]byte, error)
	// PutUserKey stores sealed as the user's data key unless one exists,
	// and answers the one that is stored afterwards (so concurrent first
	// writers agree on one key).
	PutUserKey(ctx context.Context, tenant TenantID, userID string, sealed []byte) ([]byte, error)
	// ErasedUser answers whether the user ever had a data key that was
	// destroyed (an erasure's tombstone): the key's absence then reads as
	// "[erased]" rather than as missing.
	ErasedUser(ctx context.Context, tenant TenantID, userID string) (bool, error)

	// Hold answers the user's legal hold; ErrNotFound when there is none.
	Hold(ctx context.Context, tenant TenantID, userID string) (*LegalHold, error)
	// SetHold places h (replacing an existing hold of the user);
	// ErrNotFound when the user does not exist.
	SetHold(ctx context.Context, h *LegalHold) error
	// LiftHold removes the user's hold; ErrNotFound when there is none.
	LiftHold(ctx context.Context, tenant TenantID, userID string) error

	// EraseUser deletes everything the store holds about the user: the
	// user row and every row that hangs off it, mail queued to any of
	// emails (normalised addresses), the throttle rows keyed on the user,
	// its review items, announcement deliveries, active-user marks,
	// retention notice and legal hold, and destroys its data key, leaving
	// a tombstone (ErasedUser). ErrNotFound when the user does not exist.
	EraseUser(ctx context.Context, tenant TenantID, userID string, emails []string) (EraseCounts, error)

	// CreateRequest inserts a data-subject request (ID, Tenant set).
	CreateRequest(ctx context.Context, r *PrivacyRequest) error
	// GetRequest answers one request; ErrNotFound when unknown.
	GetRequest(ctx context.Context, tenant TenantID, id string) (*PrivacyRequest, error)
	// ListRequests answers a page of the tenant's requests by id; status
	// "" lists every status.
	ListRequests(ctx context.Context, tenant TenantID, status string, p Page) ([]PrivacyRequest, error)
	// UpdateRequest rewrites a request through fn (ErrNotFound when
	// unknown; fn's error passes through unchanged and nothing changes).
	UpdateRequest(ctx context.Context, tenant TenantID, id string, fn func(*PrivacyRequest) error) (*PrivacyRequest, error)

	// InactiveUsers answers up to limit users of tenant, by id, whose last
	// sign-in (or creation, when they never signed in) is before cutoff.
	InactiveUsers(ctx context.Context, tenant TenantID, cutoff time.Time, limit int) ([]User, error)
	// RetentionNotice answers when the user was told of the coming
	// deletion; ErrNotFound when never (or the notice was cleared).
	RetentionNotice(ctx context.Context, tenant TenantID, userID string) (time.Time, error)
	// PutRetentionNotice records that the user is told at at, unless a
	// notice later than staleBefore is recorded already, and answers
	// whether it recorded: decided in the database, so of several nodes
	// running retention at once exactly one sends the notice.
	PutRetentionNotice(ctx context.Context, tenant TenantID, userID string, at, staleBefore time.Time) (bool, error)
	// ClearRetentionNotice forgets the user's notice (no error when none).
	ClearRetentionNotice(ctx context.Context, tenant TenantID, userID string) error

	// RechainAudit rewrites the tenant's whole audit chain: fn sees each
	// entry in sequence order and may change its content fields (not Seq,
	// ID, Tenant or Time); every hash is then recomputed from the first
	// entry on and the head updated to match. It answers how many entries
	// it walked. Meant for one-time conversions, inside InTx.
	RechainAudit(ctx context.Context, tenant TenantID, fn func(*AuditEntry) error) (int64, error)
	// AuditSealed answers whether the tenant's audit chain was converted
	// to sealed personal data; MarkAuditSealed records that it was.
	AuditSealed(ctx context.Context, tenant TenantID) (bool, error)
	MarkAuditSealed(ctx context.Context, tenant TenantID, at time.Time) error
	// UnsealedAuditTenants answers, in id order after p.After, up to
	// p.Limit tenants whose audit chain has no conversion mark: one query
	// however many tenants there are (CreateTenant marks a tenant, its
	// chain being sealed from its first entry).
	UnsealedAuditTenants(ctx context.Context, p Page) ([]TenantID, error)

	// Reclaim makes the space freed by deletions unreadable in the
	// database files where the backend allows: VACUUM of tables (those an
	// erasure touched, EraseCounts.Tables) on PostgreSQL, outside any
	// transaction; a checkpoint of the write-ahead log on SQLite, whose
	// deleted content secure_delete has already overwritten. An error
	// inside a transaction.
	Reclaim(ctx context.Context, tables []string) error
}

// LegalHold blocks the erasure of a user until it is lifted.
type LegalHold struct {
	Tenant TenantID
	UserID string
	Reason string
	SetBy  string
	SetAt  time.Time
}

// EraseCounts says what an erasure removed.
type EraseCounts struct {
	Users      int64 `json:"users"`
	MailQueued int64 `json:"mail_queued"`
	Throttle   int64 `json:"throttle"`
	Other      int64 `json:"other"`
	Keys       int64 `json:"keys"`
	// Tables names the tables rows were deleted from (for Reclaim).
	Tables []string `json:"-"`
}

// PrivacyRequest is a data-subject request (DSAR) and its deadline.
type PrivacyRequest struct {
	ID        string
	Tenant    TenantID
	Type      string // access, erasure, rectification
	UserID    string
	Regime    string // gdpr, ccpa
	Status    string // open, completed, rejected
	Note      string
	CreatedAt time.Time
	DueAt     time.Time
	ClosedAt  *time.Time
}
