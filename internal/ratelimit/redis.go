package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// takeScript is the bucket of store.RateBuckets in one atomic Redis
// script. KEYS[1] holds the TAT in Unix microseconds; ARGV: now, the
// interval and the slack (burst-1 intervals), all in microseconds. It
// answers {1, tat} when admitted and {0, tat} when refused; the key
// expires once the bucket is full again.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local step = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
if tat > now + slack then return {0, tat} end
tat = tat + step
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {1, tat}
`)

// Redis keeps the buckets in Redis, shared by every node using it.
type Redis struct {
	c *redis.Client
}

var _ store.RateBuckets = (*Redis)(nil)

// NewRedis connects to the Redis server of url (redis:// or rediss://)
// and checks it answers.
func NewRedis(ctx context.Context, url string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("ratelimit: redis URL is not valid")
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ratelimit: redis unreachable: %w", err)
	}
	return &Redis{c: c}, nil
}

// Client is the connection pool, for the other users of the same Redis
// (the server's DPoP replay cache).
func (r *Redis) Client() *redis.Client { return r.c }

// Close closes the connections.
func (r *Redis) Close() error { return r.c.Close() }

// Take runs takeScript on the tenant's bucket key. The tenant is not
// checked against the database: the middleware only takes for resolved
// tenants.
func (r *Redis) Take(ctx context.Context, tenant store.TenantID, bucket string, now time.Time, interval time.Duration, burst int) (bool, time.Time, error) {
	if tenant == "" || bucket == "" || interval < time.Microsecond || burst < 1 {
		return false, time.Time{}, errors.New("ratelimit: bucket needs a tenant, a bucket, an interval and a burst")
	}
	step := interval.Microseconds()
	key := "gatehouse:rl:" + string(tenant) + ":" + bucket
	res, err := takeScript.Run(ctx, r.c, []string{key}, now.UnixMicro(), step, int64(burst-1)*step).Int64Slice()
	if err != nil {
		return false, time.Time{}, fmt.Errorf("ratelimit: redis take: %w", err)
	}
	if len(res) != 2 {
		return false, time.Time{}, errors.New("ratelimit: redis take: unexpected answer")
	}
	return res[0] == 1, time.UnixMicro(res[1]).UTC(), nil
}
