package store

import (
	"context"
	"time"
)

// Custom domain states.
const (
	DomainPending  = "pending"
	DomainVerified = "verified"
)

// CustomDomain is a host name a tenant serves its pages and protocols on.
// A host belongs to one tenant of the deployment; only a verified one is
// trusted as a request's Host.
type CustomDomain struct {
	// Host is lower case, without port or trailing dot.
	Host   string
	Tenant TenantID
	// Status is DomainPending or DomainVerified.
	Status string
	// Token is the random proof the owner publishes (HTTP file or DNS
	// TXT record); it is public once published, so it is not a secret.
	Token      string
	CreatedAt  time.Time
	VerifiedAt time.Time // zero while pending
	// CertPEM is an uploaded certificate chain (PEM), KeySealed its
	// private key sealed with the master key bound to Host; both empty
	// without an upload. CertNotAfter is the leaf's expiry.
	CertPEM      string
	KeySealed    []byte
	CertNotAfter time.Time
}

// Domains stores custom domains. Host is the key across all tenants.
type Domains interface {
	// Create inserts d; ErrConflict when its host is registered already
	// (by any tenant).
	Create(ctx context.Context, d *CustomDomain) error
	// Get answers a tenant's domain; ErrNotFound when the tenant has no
	// such host (another tenant's host included).
	Get(ctx context.Context, tenant TenantID, host string) (*CustomDomain, error)
	// ByHost answers the domain of host whatever its tenant, for the
	// resolution of a request's Host; ErrNotFound when none.
	ByHost(ctx context.Context, host string) (*CustomDomain, error)
	// List answers a tenant's domains ordered by host.
	List(ctx context.Context, tenant TenantID) ([]CustomDomain, error)
	// Update is the closure update of doc.go on a tenant's domain
	// (ErrNotFound as Get); Host and Tenant cannot change.
	Update(ctx context.Context, tenant TenantID, host string, fn func(*CustomDomain) error) (*CustomDomain, error)
	// Delete removes a tenant's domain; ErrNotFound when there is none.
	Delete(ctx context.Context, tenant TenantID, host string) error
}

// TLSStorage is the shared key-value store and lock table of the ACME
// client (certificates, keys, account), so every node of a deployment
// serves what one node obtained.
type TLSStorage interface {
	// Put stores value under key, replacing any value.
	Put(ctx context.Context, key string, value []byte) error
	// Get answers key's value and modification time; ErrNotFound when absent.
	Get(ctx context.Context, key string) ([]byte, time.Time, error)
	// Delete removes key and every key under key + "/"; ErrNotFound when
	// none existed.
	Delete(ctx context.Context, key string) error
	// Keys answers the keys under prefix + "/" (all of them, or only the
	// direct children when !recursive: a child's own children collapse
	// into the child's key).
	Keys(ctx context.Context, prefix string, recursive bool) ([]string, error)
	// TryLock takes the named lock until expires when it is free or its
	// holder's expiry has passed; false when someone else holds it.
	TryLock(ctx context.Context, name string, now, expires time.Time) (bool, error)
	// Unlock releases the named lock (no error when not held).
	Unlock(ctx context.Context, name string) error
}

// Backlog is a queue's unfinished work for the metrics.
type Backlog struct {
	Depth int64
	// Oldest is the creation time of the oldest unfinished item (zero
	// when Depth is 0).
	Oldest time.Time
}

// QueueStats answers the outgoing queues' backlogs across all tenants.
type QueueStats interface {
	// Mail counts mails pending or being sent.
	Mail(ctx context.Context) (Backlog, error)
	// Events counts event deliveries pending, failed (to retry) or
	// being sent.
	Events(ctx context.Context) (Backlog, error)
}
