package store

import (
	"context"
	"time"
)

// RateBuckets keeps per-tenant token buckets shared by every node, as a
// generic cell rate algorithm: each bucket holds a theoretical arrival
// time (TAT). A bucket of burst b and emission interval i admits a
// request at now when max(TAT, now) + i - now <= b*i, and then moves TAT
// to max(TAT, now) + i; a refused request changes nothing.
type RateBuckets interface {
	// Take decides one request against the tenant's bucket, atomically
	// across connections and nodes, and answers whether it was admitted
	// and the bucket's TAT after the decision. interval and burst must be
	// positive. A tenant that does not exist answers ErrNotFound.
	Take(ctx context.Context, tenant TenantID, bucket string, now time.Time, interval time.Duration, burst int) (ok bool, tat time.Time, err error)
}
