package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SetCacheTTL sets how long d trusts a cached client or user; call it
// before d is used.
func SetCacheTTL(d *DB, ttl time.Duration) {
	d.clients.ttl, d.users.ttl = ttl, ttl
}

// RevocationsInMemory answers what d's revocation memory says of t, and
// whether it may answer now.
func RevocationsInMemory(d *DB, tenant store.TenantID, t store.AccessTokenRef) (revoked, ok bool) {
	return d.revs.revoked(tenant, t)
}

// RevokedSQL answers what the table says of t.
func RevokedSQL(ctx context.Context, d *DB, tenant store.TenantID, t store.AccessTokenRef) (bool, error) {
	return tokenRepo{&d.scope}.revokedSQL(ctx, tenant, t)
}
