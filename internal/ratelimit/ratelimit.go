// Package ratelimit enforces per-tenant request rates on the management
// API, SCIM and the token endpoint, with token buckets shared by every
// node: in the database by default, or in Redis. Refused requests get 429
// with Retry-After; every limited answer carries the RateLimit-Policy and
// RateLimit fields of draft-ietf-httpapi-ratelimit-headers.
package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// window is the period of every policy: a limit of N per second is a
// bucket of N requests (the burst) refilled at N per second.
const window = time.Second

// Limiter decides requests against per-tenant buckets.
type Limiter struct {
	// Buckets keeps the buckets (sqlstore's DB.RateBuckets, or Redis).
	Buckets store.RateBuckets
	// Limit answers a tenant's requests per second on a bucket; 0 is
	// unlimited (tenancy.RateLimit).
	Limit func(t *store.Tenant, bucket string) int
	// Resolve finds the tenant a management API path names (slug or id).
	Resolve func(ctx context.Context, ref string) (*store.Tenant, error)
	Now     func() time.Time
	Log     *slog.Logger
	// NoLease turns the in-process fast path off: every request is one
	// take from the shared bucket.
	NoLease bool
	// OnRefuse, when set, is told of every refused request (metrics).
	OnRefuse func(t *store.Tenant, bucket string)

	leases leases
}

// Decision is the outcome of one request against its bucket.
type Decision struct {
	OK bool
	// Quota is the policy's requests per window.
	Quota int
	// Remaining is what the bucket still holds after this request.
	Remaining int
	// Reset is the delay until the bucket is full again (admitted), or
	// until the next request can be admitted (refused).
	Reset time.Duration
}

// Decide takes one request of tenant t from bucket. It answers ok=false
// with no decision when the tenant is unlimited there. A failing store
// admits the request (logged): limits protect capacity, they must not
// turn a store hiccup into an outage.
func (l *Limiter) Decide(ctx context.Context, t *store.Tenant, bucket string) (Decision, bool) {
	rps := l.Limit(t, bucket)
	if rps <= 0 {
		return Decision{}, false
	}
	now := l.Now()
	key := leaseKey{t.ID, bucket}
	if !l.NoLease {
		if d, ok := l.leases.use(key, now); ok {
			return d, true
		}
	}
	interval := window / time.Duration(rps)
	ok, tat, err := l.Buckets.Take(ctx, t.ID, bucket, now, interval, rps)
	if err != nil {
		l.Log.WarnContext(ctx, "rate limit: bucket unavailable, request admitted", "bucket", bucket, "err", err)
		return Decision{}, false
	}
	d := decision(ok, tat, now, interval, rps)
	if !ok && !l.NoLease {
		l.leases.refuse(key, d, now)
	}
	if n := leaseSize(rps); ok && !l.NoLease && n > 1 && d.Remaining >= rps/2 {
		// Clearly under the limit: claim the next n requests at once.
		lok, ltat, err := l.Buckets.Take(ctx, t.ID, bucket, now, time.Duration(n)*interval, rps/n)
		if err == nil && lok {
			ld := decision(true, ltat, now, interval, rps)
			l.leases.grant(key, n, ld, now)
		}
	}
	return d, true
}

// decision derives the header values from a bucket's TAT after a take.
func decision(ok bool, tat, now time.Time, interval time.Duration, burst int) Decision {
	d := Decision{OK: ok, Quota: burst}
	ahead := tat.Sub(now)
	if ok {
		d.Remaining = max(0, int((time.Duration(burst)*interval-ahead)/interval))
		d.Reset = max(0, ahead)
		return d
	}
	// The next request fits once TAT is no more than burst-1 intervals
	// ahead: exactly then, as the refusal cache relies on (positive, since
	// the take was refused).
	d.Reset = ahead - time.Duration(burst-1)*interval
	return d
}

// seconds rounds a delay up to whole seconds (delay-seconds of HTTP).
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
