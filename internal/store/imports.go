package store

import (
	"context"
	"time"
)

// Import job states.
const (
	ImportRunning  = "running"
	ImportStopped  = "stopped" // interrupted; resumable from Checkpoint
	ImportFinished = "finished"
	ImportFailed   = "failed"
)

// ImportJob is one bulk import of users into a tenant, from the CLI or the
// API. Checkpoint counts the records of the source already committed: a
// resumed run skips that many and continues.
type ImportJob struct {
	ID     string
	Tenant TenantID
	// Format is the source format ("csv", "jsonl", "auth0", ...).
	Format string
	// Source names the file for the operator; Digest is the SHA-256 (hex)
	// of its content, how a resumed run finds the job it continues.
	Source     string
	Digest     string
	OnConflict string
	DryRun     bool
	Status     string
	// Total is the number of records in the source once known, else 0.
	Total      int64
	Checkpoint int64
	Created    int64
	Updated    int64
	Skipped    int64
	Failed     int64
	// Errors are the rejected records (at most a bounded number).
	Errors []ImportError
	// Message is the reason a job failed as a whole, for the operator.
	Message   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ImportError is one rejected record: the line it starts on in the source
// (1-based), its external id when known, and why.
type ImportError struct {
	Line       int64  `json:"line"`
	ExternalID string `json:"external_id,omitempty"`
	Error      string `json:"error"`
}

// PasswordHashes streams a tenant's stored password hashes (the
// credentials summary classifies them).
type PasswordHashes interface {
	// ScanPasswordHashes calls fn with every user's password hash, ""
	// included, in no particular order; fn's error stops the scan and is
	// returned.
	ScanPasswordHashes(ctx context.Context, tenant TenantID, fn func(hash string) error) error
}

// Imports stores import jobs and the external ids imports give users.
type Imports interface {
	// CreateImportJob inserts j (times now when unset); ErrConflict when
	// the id is taken in the tenant.
	CreateImportJob(ctx context.Context, j *ImportJob) error
	// GetImportJob: ErrNotFound when there is none in the tenant.
	GetImportJob(ctx context.Context, tenant TenantID, id string) (*ImportJob, error)
	// UpdateImportJob is the closure update of doc.go.
	UpdateImportJob(ctx context.Context, tenant TenantID, id string, fn func(*ImportJob) error) (*ImportJob, error)
	// LatestImportJob answers the newest job of tenant for a source with
	// digest that is neither finished nor a dry run (what --resume continues); ErrNotFound
	// when there is none.
	LatestImportJob(ctx context.Context, tenant TenantID, digest string) (*ImportJob, error)
	// ExternalIDs answers, for those of ids that are mapped in tenant,
	// external id -> user id.
	ExternalIDs(ctx context.Context, tenant TenantID, ids []string) (map[string]string, error)
	// UserExternalIDs answers, for those of userIDs that have one, user
	// id -> external id.
	UserExternalIDs(ctx context.Context, tenant TenantID, userIDs []string) (map[string]string, error)
	// LinkExternalIDs stores external id -> user id pairs; ErrConflict when
	// an external id is taken, ErrNotFound when a user is missing.
	LinkExternalIDs(ctx context.Context, tenant TenantID, links map[string]string) error
	// IdentifierOwners answers which users of tenant hold the given
	// normalised emails and usernames: emailNorm -> user id and
	// usernameNorm -> user id, for those that are taken.
	IdentifierOwners(ctx context.Context, tenant TenantID, emailNorms, usernameNorms []string) (byEmail, byUsername map[string]string, err error)
	PasswordHashes
}
