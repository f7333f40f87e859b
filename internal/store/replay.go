package store

import (
	"context"
	"time"
)

// ReplayCache remembers keys for a while, so that what may be used only
// once (a DPoP proof's jti) is accepted once. Keys are scoped by tenant: a
// key claimed under one tenant is free under another.
type ReplayCache interface {
	// Claim records key for tenant until now+ttl and answers true, or
	// answers false when the key is already recorded and unexpired (a
	// replay). Of concurrent claims of one key, from any connection or
	// node sharing the cache, at most one answers true. tenant and key
	// must not be empty and ttl must be positive. An error means nothing
	// was decided; the caller refuses the request.
	Claim(ctx context.Context, tenant TenantID, key string, now time.Time, ttl time.Duration) (fresh bool, err error)
}
