package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuthorizationDetailType is one of a tenant's RFC 9396 authorization
// details types: its name and the JSON Schema its objects must meet.
type AuthorizationDetailType struct {
	Tenant      TenantID
	Type        string
	Description string
	Schema      json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RequestDetails are the authorization_details of one authorization
// request, kept under its id (which is also the id of the token family the
// request's code starts) until ExpiresAt; Approved once the user has
// approved them on the consent page.
type RequestDetails struct {
	Tenant    TenantID
	Owner     string
	Details   json.RawMessage
	Approved  bool
	ExpiresAt time.Time
}

// AuthorizationDetails stores the tenants' detail types and the details
// of requests.
type AuthorizationDetails interface {
	// PutDetailType creates or replaces a type (a replaced one keeps its
	// CreatedAt); ErrNotFound when the tenant does not exist.
	PutDetailType(ctx context.Context, t *AuthorizationDetailType) error
	GetDetailType(ctx context.Context, tenant TenantID, typ string) (*AuthorizationDetailType, error)
	// ListDetailTypes answers the tenant's types by name.
	ListDetailTypes(ctx context.Context, tenant TenantID) ([]AuthorizationDetailType, error)
	DeleteDetailType(ctx context.Context, tenant TenantID, typ string) error
	// PutDetails creates or replaces the details of an owner.
	PutDetails(ctx context.Context, d *RequestDetails) error
	// GetDetails and ApproveDetails answer ErrNotFound also once expired.
	GetDetails(ctx context.Context, tenant TenantID, owner string) (*RequestDetails, error)
	ApproveDetails(ctx context.Context, tenant TenantID, owner string) error
}
