package store

import (
	"context"
	"time"
)

// AuthzRepos are the aggregates of authorization (migration 0003): roles
// and their assignments, privileged-access elevations, break-glass
// accounts and access reviews. Store and Tx provide them through Authz().
//
// Beyond doc.go: an assignment names its role and its user or group and
// goes with either; a role's elevations and a user's go with them too.
// Review items are a snapshot and outlive the assignment they describe (the
// report must still say who had what). Deleting a tenant removes all of it.
type AuthzRepos interface {
	Roles() Roles
	Elevations() Elevations
	BreakGlass() BreakGlass
	Reviews() Reviews
}

// Role approval policies for privileged roles.
const (
	ApprovalApprovers = "approvers" // a named approver, never the requester
	ApprovalSelfMFA   = "self_mfa"  // the user after a fresh MFA step-up
)

// Role is a named set of permissions of a tenant, optionally belonging to
// one application (an OAuth client id, later a SAML SP).
type Role struct {
	ID          string
	Tenant      TenantID
	Name        string
	Description string
	Permissions []string
	// Application is the client id the role belongs to; "" for none.
	Application string
	// Privileged roles are never active by assignment alone: the assignee
	// is eligible and must be elevated (Elevation).
	Privileged bool
	// MaxDuration caps an elevation of a privileged role.
	MaxDuration time.Duration
	// Approval is ApprovalApprovers or ApprovalSelfMFA (privileged only).
	Approval string
	// Approvers are user ids who may approve an elevation.
	Approvers []string
	// RequireMFA: tokens carry this role only when the login used MFA.
	RequireMFA bool
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Assignment gives a role to a user or a group (exactly one is set).
type Assignment struct {
	ID        string
	Tenant    TenantID
	RoleID    string
	UserID    string
	GroupID   string
	CreatedAt time.Time
}

// Grant is one way a user holds a role: an assignment to the user itself
// (GroupID ""), or to a group the user is in at any depth (GroupID and
// GroupName), or an active elevation (ElevationID, ExpiresAt).
type Grant struct {
	Role         Role
	AssignmentID string
	GroupID      string
	GroupName    string
	ElevationID  string
	ExpiresAt    time.Time
}

// Roles stores roles and their assignments.
type Roles interface {
	// CreateRole: ErrConflict when the name is taken in the tenant.
	CreateRole(ctx context.Context, r *Role) error
	GetRole(ctx context.Context, tenant TenantID, id string) (*Role, error)
	GetRoleByName(ctx context.Context, tenant TenantID, name string) (*Role, error)
	// ListRoles answers a page by id; application, when set, keeps the
	// roles of that application.
	ListRoles(ctx context.Context, tenant TenantID, application string, p Page) ([]Role, error)
	// UpdateRole follows doc.go; ErrConflict when the new name is taken.
	UpdateRole(ctx context.Context, tenant TenantID, id string, fn func(*Role) error) (*Role, error)
	// DeleteRole removes the role, its assignments and its elevations.
	DeleteRole(ctx context.Context, tenant TenantID, id string) error
	// Assign stores a; ErrNotFound when the role, user or group is missing
	// in the tenant, ErrConflict when the subject already has the role.
	Assign(ctx context.Context, a *Assignment) error
	GetAssignment(ctx context.Context, tenant TenantID, id string) (*Assignment, error)
	// Unassign removes an assignment by id; ErrNotFound when there is none.
	Unassign(ctx context.Context, tenant TenantID, id string) error
	// ListAssignments answers assignments by id matching every set field
	// of q.
	ListAssignments(ctx context.Context, tenant TenantID, q AssignmentQuery) ([]Assignment, error)
	// UserGrants answers every grant the user holds at now: direct
	// assignments, assignments to groups containing the user at any depth,
	// and elevations approved, not revoked and expiring after now. One
	// round trip. An unknown user has none (no error).
	UserGrants(ctx context.Context, tenant TenantID, userID string, now time.Time) ([]Grant, error)
	// TenantsLacking answers, in id order after p.After, up to p.Limit
	// tenants that lack a role of any of the names: one query however
	// many tenants there are (the built-in roles, checked at start-up).
	TenantsLacking(ctx context.Context, names []string, p Page) ([]TenantID, error)
}

// AssignmentQuery filters ListAssignments; empty fields do not filter.
type AssignmentQuery struct {
	RoleID  string
	UserID  string
	GroupID string
	// Privileged keeps assignments of privileged roles; Application those
	// of the roles of one application.
	Privileged  bool
	Application string
	Page
}

// Elevation states. An approved elevation is active until ExpiresAt.
const (
	ElevationPending  = "pending"
	ElevationApproved = "approved"
	ElevationDenied   = "denied"
	ElevationRevoked  = "revoked"
)

// Elevation is a just-in-time activation of a privileged role.
type Elevation struct {
	ID          string
	Tenant      TenantID
	RoleID      string
	UserID      string
	Reason      string
	Duration    time.Duration
	Status      string
	RequestedAt time.Time
	// DecidedBy is the approver's user id (the user's own for self_mfa).
	DecidedBy string
	DecidedAt time.Time
	ExpiresAt time.Time
	RevokedBy string
	RevokedAt time.Time
}

// Elevations stores elevation requests and grants.
type Elevations interface {
	// CreateElevation: ErrNotFound when the role or user is missing.
	CreateElevation(ctx context.Context, e *Elevation) error
	GetElevation(ctx context.Context, tenant TenantID, id string) (*Elevation, error)
	// UpdateElevation is the closure update of doc.go (no version);
	// ID, Tenant, RoleID, UserID and RequestedAt are fixed.
	UpdateElevation(ctx context.Context, tenant TenantID, id string, fn func(*Elevation) error) (*Elevation, error)
	// ListElevations answers by id; empty fields of q do not filter.
	ListElevations(ctx context.Context, tenant TenantID, q ElevationQuery) ([]Elevation, error)
	// RevokeUserRoleElevations revokes the user's approved elevations of
	// the role that have not ended at now; it answers how many.
	RevokeUserRoleElevations(ctx context.Context, tenant TenantID, userID, roleID, by string, now time.Time) (int, error)
}

// ElevationQuery filters ListElevations.
type ElevationQuery struct {
	UserID string
	RoleID string
	Status string
	Page
}

// BreakGlassAccount marks a user as an emergency account: every use alerts.
type BreakGlassAccount struct {
	Tenant    TenantID
	UserID    string
	Note      string
	CreatedAt time.Time
}

// BreakGlass stores the break-glass marks.
type BreakGlass interface {
	// AddBreakGlass: ErrNotFound when the user is missing, ErrConflict when
	// already marked.
	AddBreakGlass(ctx context.Context, b *BreakGlassAccount) error
	// RemoveBreakGlass: ErrNotFound when the user is not marked.
	RemoveBreakGlass(ctx context.Context, tenant TenantID, userID string) error
	// IsBreakGlass answers whether the user is marked (false, nil if not).
	IsBreakGlass(ctx context.Context, tenant TenantID, userID string) (bool, error)
	ListBreakGlass(ctx context.Context, tenant TenantID) ([]BreakGlassAccount, error)
}

// Review scopes.
const (
	ReviewPrivileged  = "privileged"
	ReviewApplication = "application"
)

// Review decisions.
const (
	DecisionApprove = "approve"
	DecisionRevoke  = "revoke"
)

// ReviewCampaign is an access review over a set of assignments.
type ReviewCampaign struct {
	ID          string
	Tenant      TenantID
	Name        string
	Scope       string // ReviewPrivileged or ReviewApplication
	Application string // the client id when Scope is application
	Reviewers   []string
	Deadline    time.Time
	CreatedBy   string
	CreatedAt   time.Time
}

// ReviewItem is one assignment under review, snapshotted at the start.
type ReviewItem struct {
	ID           string
	Tenant       TenantID
	CampaignID   string
	AssignmentID string
	RoleID       string
	RoleName     string
	UserID       string // set for a user's assignment
	GroupID      string // set for a group's assignment
	SubjectName  string // email or group name at the start
	Decision     string // "", DecisionApprove or DecisionRevoke
	DecidedBy    string
	DecidedAt    time.Time
	Note         string
}

// Reviews stores review campaigns and their items.
type Reviews interface {
	// CreateCampaign stores c and its items (their CampaignID set here).
	CreateCampaign(ctx context.Context, c *ReviewCampaign, items []ReviewItem) error
	GetCampaign(ctx context.Context, tenant TenantID, id string) (*ReviewCampaign, error)
	ListCampaigns(ctx context.Context, tenant TenantID, p Page) ([]ReviewCampaign, error)
	// ListItems answers the campaign's items by id; ErrNotFound when the
	// campaign does not exist.
	ListItems(ctx context.Context, tenant TenantID, campaignID string, p Page) ([]ReviewItem, error)
	// DecideItem records a decision on an undecided item. ErrNotFound when
	// there is no such item, ErrConflict when it was decided already.
	DecideItem(ctx context.Context, tenant TenantID, campaignID, itemID, decision, by, note string, at time.Time) (*ReviewItem, error)
}

// AuthzClaims is a client's choice of authorization claims in its tokens:
// the claim names for the user's effective role names and permissions (""
// leaves a claim out) and whether only the roles of this application count.
type AuthzClaims struct {
	RolesClaim       string `json:"roles_claim,omitempty"`
	PermissionsClaim string `json:"permissions_claim,omitempty"`
	ApplicationOnly  bool   `json:"application_only,omitempty"`
}
