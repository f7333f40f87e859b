package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Redis is a store.ReplayCache in Redis, shared by every node using it:
// one SET NX PX per claim, under gatehouse:replay:{tenant}:{key}. Keys
// expire by Redis's clock, ttl after the claim reaches it.
type Redis struct {
	C *redis.Client
}

var _ store.ReplayCache = (*Redis)(nil)

// Claim implements store.ReplayCache.
func (r *Redis) Claim(ctx context.Context, tenant store.TenantID, key string, _ time.Time, ttl time.Duration) (bool, error) {
	if err := validClaim(tenant, key, ttl); err != nil {
		return false, err
	}
	fresh, err := r.C.SetNX(ctx, "gatehouse:replay:"+string(tenant)+":"+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("replay: redis claim: %w", err)
	}
	return fresh, nil
}
