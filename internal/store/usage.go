package store

import (
	"context"
	"time"
)

// Overage says what happens past a plan's MAU limit: soft records the
// overage and keeps serving, hard refuses users not yet counted in the month.
const (
	OverageSoft = "soft"
	OverageHard = "hard"
)

// PlanLimits are a plan's limits; a nil limit is unlimited.
type PlanLimits struct {
	MAU            *int64 `json:"mau,omitempty"`
	Clients        *int64 `json:"clients,omitempty"`
	Connections    *int64 `json:"connections,omitempty"`
	SAMLSPs        *int64 `json:"saml_sps,omitempty"`
	APIRPS         *int64 `json:"api_rps,omitempty"`
	SignupsPerHour *int64 `json:"signups_per_hour,omitempty"`
}

// Plan is a named set of limits tenants subscribe to. Plans are platform
// records, not scoped by a tenant.
type Plan struct {
	Name      string
	Limits    PlanLimits
	Overage   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Usage metric names of the per-month counters. Tokens are counted per
// grant under MetricTokensPrefix + grant type.
const (
	MetricLoginsSucceeded = "logins.succeeded"
	MetricLoginsFailed    = "logins.failed"
	MetricSignups         = "signups"
	MetricAPICalls        = "api_calls"
	MetricSAMLAssertions  = "saml_assertions"
	MetricMails           = "mails"
	MetricTokensPrefix    = "tokens."
)

// UsageDelta adds N to one tenant's metric in a month.
type UsageDelta struct {
	Tenant TenantID
	Month  string // YYYY-MM, UTC
	Metric string
	N      int64
}

// TenantUsage is one tenant's usage in a month.
type TenantUsage struct {
	Tenant   TenantID
	Slug     string
	Month    string
	MAU      int64
	Counters map[string]int64
}

// Owned kinds CountOwned counts.
const (
	OwnedClients     = "clients"
	OwnedConnections = "connections"
	OwnedSAMLSPs     = "saml_sps"
)

// UsageRepos stores plans, tenants' subscriptions and usage metering.
type UsageRepos interface {
	// CreatePlan inserts p; ErrConflict when the name is taken.
	CreatePlan(ctx context.Context, p *Plan) error
	// GetPlan answers ErrNotFound for an unknown name.
	GetPlan(ctx context.Context, name string) (*Plan, error)
	// ListPlans answers every plan by name.
	ListPlans(ctx context.Context) ([]Plan, error)
	// UpdatePlan applies fn to the stored plan (the name cannot change);
	// ErrNotFound for an unknown name, fn's error unchanged.
	UpdatePlan(ctx context.Context, name string, fn func(*Plan) error) (*Plan, error)
	// DeletePlan removes a plan; ErrNotFound for an unknown name,
	// ErrConflict while a tenant is on it.
	DeletePlan(ctx context.Context, name string) error
	// SetTenantPlan puts tenant on plan ("" takes it off every plan);
	// ErrNotFound when the tenant or plan does not exist.
	SetTenantPlan(ctx context.Context, tenant TenantID, plan string) error
	// TenantPlan answers the tenant's plan name, "" when it has none.
	TenantPlan(ctx context.Context, tenant TenantID) (string, error)

	// MarkActive counts user as active in tenant's month, once: true when
	// this call counted it, false when it was already counted. A tenant
	// that no longer exists counts nothing.
	MarkActive(ctx context.Context, tenant TenantID, month, userID string) (bool, error)
	// IsActive reports whether user is counted in tenant's month.
	IsActive(ctx context.Context, tenant TenantID, month, userID string) (bool, error)
	// CountActive answers the tenant's MAU in month.
	CountActive(ctx context.Context, tenant TenantID, month string) (int64, error)
	// AddUsage adds every delta to its counter in one transaction;
	// deltas of tenants that no longer exist are dropped.
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	// GetUsage answers one tenant's usage in month (zeros when none).
	GetUsage(ctx context.Context, tenant TenantID, month string) (*TenantUsage, error)
	// ListUsage answers every tenant's usage in month, ordered by tenant id.
	ListUsage(ctx context.Context, month string) ([]TenantUsage, error)
	// CountOwned counts the tenant's objects of kind (Owned*).
	CountOwned(ctx context.Context, tenant TenantID, kind string) (int64, error)
	// MarkThreshold notes that tenant crossed percent of limit in month:
	// true the first time, false after.
	MarkThreshold(ctx context.Context, tenant TenantID, month, limit string, percent int, at time.Time) (bool, error)
}
