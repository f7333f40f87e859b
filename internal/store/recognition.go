package store

import (
	"context"
	"time"
)

// KnownDevice is a browser a user signed in from: the server side of the
// device cookie. The cookie carries the id and an HMAC binding it to the
// tenant and the user; this record holds no secret, so forgetting a device
// is deleting its row. The login throttle lets a known device through; the
// risk engine reads the same records as a "seen before" signal.
type KnownDevice struct {
	Tenant     TenantID
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Recognition stores where users signed in from before: their devices
// (device cookies) and source networks (an IPv4 address or an IPv6 /64,
// as the caller names it).
type Recognition interface {
	// PutDevice creates d, or when its id exists for the same user moves
	// its LastSeenAt and ExpiresAt forward. ErrConflict when the id
	// belongs to another user.
	PutDevice(ctx context.Context, d *KnownDevice) error
	// GetDevice answers a live device: ErrNotFound when unknown or expired
	// at now.
	GetDevice(ctx context.Context, tenant TenantID, id string, now time.Time) (*KnownDevice, error)
	// ListDevices answers the user's live devices, most recently seen first.
	ListDevices(ctx context.Context, tenant TenantID, userID string, now time.Time) ([]KnownDevice, error)
	// TouchNetwork records a sign-in of the user from network at now.
	TouchNetwork(ctx context.Context, tenant TenantID, userID, network string, now time.Time) error
	// KnownNetwork reports whether the user signed in from network at or
	// after since.
	KnownNetwork(ctx context.Context, tenant TenantID, userID, network string, since time.Time) (bool, error)
	// Forget deletes every device and network of the user.
	Forget(ctx context.Context, tenant TenantID, userID string) error
	// ForgetDevice deletes the user's device id; ErrNotFound when the user
	// has no such device (another user's id included).
	ForgetDevice(ctx context.Context, tenant TenantID, userID, id string) error
}
