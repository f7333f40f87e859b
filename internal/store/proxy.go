package store

import (
	"context"
	"time"
)

// ProxyApp is an application behind a reverse proxy that asks Gatehouse,
// request by request, whether the browser may pass (forward
// authentication).
type ProxyApp struct {
	ID     string
	Tenant TenantID
	Name   string
	// Domains are the host names the application answers on, lower case,
	// without port; a domain belongs to one application of a tenant.
	Domains []string
	// AllowedGroups and AllowedRoles are names; a user passes who is in
	// one of the groups or holds one of the roles (both empty: everyone
	// of the tenant).
	AllowedGroups []string
	AllowedRoles  []string
	// Headers renames the identity headers the proxy passes on ("user",
	// "email", "groups", "roles", "preferred_username") and names the
	// header of the signed token ("jwt"), which is only sent when named.
	Headers map[string]string
	// SessionLifetime bounds the application's cookie.
	SessionLifetime time.Duration
	// MFA is "required" when a second factor is asked for whatever the
	// tenant's policy says, "" for the tenant's policy.
	MFA       string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProxyCode carries a signed-in browser from Gatehouse to an
// application's domain: single use, short-lived, stored as a hash.
type ProxyCode struct {
	Tenant    TenantID
	Hash      []byte
	AppID     string
	SessionID string
	ReturnURL string
	// BrowserHash is the hash of the state cookie set on the application's
	// domain when the sign-in started: the callback answers only the
	// browser that started it (no login CSRF).
	BrowserHash []byte
	ExpiresAt   time.Time
}

// ProxySession is the server-side record of an application's cookie,
// stored as a hash and bound to the Gatehouse session it came from.
type ProxySession struct {
	Tenant    TenantID
	Hash      []byte
	AppID     string
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ProxyRepos stores forward authentication's records.
type ProxyRepos interface {
	// CreateApp inserts a with Version 1; ErrConflict when its name or one
	// of its domains is taken in the tenant.
	CreateApp(ctx context.Context, a *ProxyApp) error
	// GetApp: ErrNotFound when the tenant has no such application.
	GetApp(ctx context.Context, tenant TenantID, id string) (*ProxyApp, error)
	// AppByDomain answers the application of a host name (exact, lower
	// case); ErrNotFound when none.
	AppByDomain(ctx context.Context, tenant TenantID, domain string) (*ProxyApp, error)
	ListApps(ctx context.Context, tenant TenantID, p Page) ([]ProxyApp, error)
	// UpdateApp is the closure update of doc.go (Version raised by one);
	// ErrConflict as CreateApp.
	UpdateApp(ctx context.Context, tenant TenantID, id string, fn func(*ProxyApp) error) (*ProxyApp, error)
	// DeleteApp deletes the application with its codes and sessions;
	// ErrNotFound when there is none.
	DeleteApp(ctx context.Context, tenant TenantID, id string) error

	// CreateCode inserts c; ErrNotFound when its application or session
	// is gone.
	CreateCode(ctx context.Context, c *ProxyCode) error
	// ConsumeCode deletes an unexpired code and answers it, in one
	// statement: exactly one caller wins; ErrNotFound otherwise.
	ConsumeCode(ctx context.Context, tenant TenantID, hash []byte) (*ProxyCode, error)

	// CreateSession inserts s; ErrNotFound when its application or
	// Gatehouse session is gone.
	CreateSession(ctx context.Context, s *ProxySession) error
	// GetSession answers an unexpired proxy session; ErrNotFound
	// otherwise. Whether its Gatehouse session is still live is the
	// caller's question.
	GetSession(ctx context.Context, tenant TenantID, hash []byte) (*ProxySession, error)
	// DeleteSession deletes it; ErrNotFound when there is none.
	DeleteSession(ctx context.Context, tenant TenantID, hash []byte) error
	// DeleteExpired removes, in every tenant, the codes and sessions that
	// expired before before, and answers how many rows went.
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}
