package sqlstore

import (
	"context"
	"database/sql"
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

// SetRevocationMemoryMax bounds d's revocation memory to max rows and
// starts it over.
func SetRevocationMemoryMax(d *DB, max int) {
	d.revs.mu.Lock()
	d.revs.max = max
	d.revs.mu.Unlock()
	d.revs.reset()
}

// RevocationMemoryLoads counts the loads of d's revocation memory begun.
func RevocationMemoryLoads(d *DB) int {
	d.revs.mu.Lock()
	defer d.revs.mu.Unlock()
	return d.revs.loads
}

// RevokedSQL answers what the table says of t.
func RevokedSQL(ctx context.Context, d *DB, tenant store.TenantID, t store.AccessTokenRef) (bool, error) {
	return tokenRepo{&d.scope}.revokedSQL(ctx, tenant, t)
}

// TxSQL answers the transaction an InTx scope runs on.
func TxSQL(r store.Repos) *sql.Tx { return r.(*scope).tx }
