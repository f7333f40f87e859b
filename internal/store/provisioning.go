package store

import (
	"context"
	"time"
)

// ProvisioningTarget is a tenant's outbound SCIM 2.0 service provider: the
// directory's users and groups are pushed to BaseURL with Token (sealed
// with the master key, bound to the row). Mapping maps SCIM attribute
// paths to user fields; Groups, when not empty, limits the users pushed to
// members of these groups (and the groups pushed to these groups).
type ProvisioningTarget struct {
	ID      string
	Tenant  TenantID
	Name    string
	BaseURL string
	Token   []byte
	Mapping map[string]string
	Groups  []string
	Enabled bool
	// SyncState is "" (never synced), "running", "done" or "failed";
	// SyncedAt when it last changed; SyncCount the objects the last full
	// sync pushed.
	SyncState string
	SyncedAt  *time.Time
	SyncCount int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Kinds of objects a provisioning link maps.
const (
	ProvisionUser  = "user"
	ProvisionGroup = "group"
)

// ProvisionLink maps one of our users or groups (Kind, LocalID) to its id
// on a target (RemoteID).
type ProvisionLink struct {
	Tenant   TenantID
	TargetID string
	Kind     string
	LocalID  string
	RemoteID string
}

// ProvisionError is one failed push to a target.
type ProvisionError struct {
	ID         string // UUIDv7
	Tenant     TenantID
	TargetID   string
	At         time.Time
	EventID    string // "" for a full sync
	Kind       string // user or group
	LocalID    string
	Operation  string // create, update, deactivate, delete, membership, lookup
	StatusCode int    // the target's HTTP status, 0 when none came
	Message    string
}

// MaxProvisionErrors is how many errors a target keeps (the newest).
const MaxProvisionErrors = 100

// Provisioning stores provisioning targets, the id links of what was
// pushed to them and their errors. Deleting a target (or its tenant)
// removes its links and errors.
type Provisioning interface {
	// CreateTarget inserts t; ErrNotFound when the tenant does not exist.
	CreateTarget(ctx context.Context, t *ProvisioningTarget) error
	// GetTarget answers ErrNotFound when the tenant has no such target.
	GetTarget(ctx context.Context, tenant TenantID, id string) (*ProvisioningTarget, error)
	// ListTargets answers a page of the tenant's targets.
	ListTargets(ctx context.Context, tenant TenantID, p Page) ([]ProvisioningTarget, error)
	// UpdateTarget rewrites a target through fn (ErrNotFound when absent;
	// fn's error is returned unchanged and nothing is written).
	UpdateTarget(ctx context.Context, tenant TenantID, id string, fn func(*ProvisioningTarget) error) (*ProvisioningTarget, error)
	// DeleteTarget removes the target with its links and errors.
	DeleteTarget(ctx context.Context, tenant TenantID, id string) error
	// GetLink answers ErrNotFound when the object was never linked.
	GetLink(ctx context.Context, tenant TenantID, targetID, kind, localID string) (*ProvisionLink, error)
	// PutLink inserts or replaces the link of (TargetID, Kind, LocalID).
	PutLink(ctx context.Context, l *ProvisionLink) error
	// DeleteLink removes a link; no error when there was none.
	DeleteLink(ctx context.Context, tenant TenantID, targetID, kind, localID string) error
	// AppendError records e (ID and At set by the caller) and drops the
	// target's errors beyond the newest MaxProvisionErrors.
	AppendError(ctx context.Context, e *ProvisionError) error
	// ListErrors answers up to limit of the target's errors, newest first.
	ListErrors(ctx context.Context, tenant TenantID, targetID string, limit int) ([]ProvisionError, error)
}
