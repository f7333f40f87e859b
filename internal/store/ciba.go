package store

import (
	"context"
	"time"
)

// CIBARequest is one OpenID CIBA backchannel authentication request: a
// client asks for a user's approval without a browser of its own; the user
// approves or denies on another device (the mailed approval link).
type CIBARequest struct {
	ID     string // UUIDv7
	Tenant TenantID
	// AuthReqHash is SHA-256 of the auth_req_id the client polls with;
	// ApprovalHash is SHA-256 of the secret of the mailed approval link.
	AuthReqHash  []byte
	ApprovalHash []byte
	ClientID     string
	// UserID is the user the hint named; "" when it named nobody (the
	// request is kept so that the client's answers look the same; it
	// can only expire).
	UserID         string
	Scopes         []string
	ACRValues      []string
	BindingMessage string
	// NotificationToken is the ping mode's client_notification_token,
	// sealed with the master key (nil in poll mode).
	NotificationToken []byte
	// State: pending, approved, denied.
	State     string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	// LastPoll enforces the polling interval (slow_down).
	LastPoll *time.Time
	// Done is set once the client has received its tokens.
	Done      bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CIBARequests stores backchannel authentication requests.
type CIBARequests interface {
	// CreateCIBARequest: ErrConflict when a hash is taken, ErrNotFound when
	// the client (or a set UserID) does not exist in the tenant. State
	// defaults to pending.
	CreateCIBARequest(ctx context.Context, r *CIBARequest) error
	// GetCIBARequest, GetCIBAByAuthReq, GetCIBAByApproval and
	// UpdateCIBARequest answer ErrNotFound also once the request has
	// expired. UpdateCIBARequest holds the row while fn runs, so of racing
	// polls of an approved request exactly one sees it not Done.
	GetCIBARequest(ctx context.Context, tenant TenantID, id string) (*CIBARequest, error)
	GetCIBAByAuthReq(ctx context.Context, tenant TenantID, authReqHash []byte) (*CIBARequest, error)
	GetCIBAByApproval(ctx context.Context, tenant TenantID, approvalHash []byte) (*CIBARequest, error)
	UpdateCIBARequest(ctx context.Context, tenant TenantID, id string, fn func(*CIBARequest) error) (*CIBARequest, error)
}
