package tenancy

import (
	"bytes"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// maxRPS bounds a configured rate: one interval of a bucket is at least
// a microsecond, what both bucket stores count in.
const maxRPS = 100000

// RateLimits are a tenant's request rates per second on each limited
// surface; 0 (or absent) leaves that surface unlimited.
type RateLimits struct {
	// APIRPS limits the management API under /api/v1/tenants/{tenant}.
	APIRPS int `json:"api_rps,omitempty"`
	// TokenRPS limits the token endpoint /t/{tenant}/oauth/token.
	TokenRPS int `json:"token_rps,omitempty"`
	// SCIMRPS limits SCIM under /t/{tenant}/scim/v2.
	SCIMRPS int `json:"scim_rps,omitempty"`
}

func (r *RateLimits) check(c *valid.Collector, prefix string) {
	for _, f := range []struct {
		name string
		v    int
	}{{"api_rps", r.APIRPS}, {"token_rps", r.TokenRPS}, {"scim_rps", r.SCIMRPS}} {
		if f.v < 0 || f.v > maxRPS {
			c.Add(prefix+"."+f.name, "invalid", f.name+" is 0 (unlimited) to 100000 requests per second.")
		}
	}
}

// The limited surfaces, as bucket names.
const (
	BucketAPI   = "api"
	BucketToken = "token"
	BucketSCIM  = "scim"
)

// RateLimit answers the requests per second the tenant may make on the
// surface named by bucket, or 0 for unlimited. It is the one place the
// limit is looked up: today from the tenant's settings.rate_limits.
// Settings that do not parse leave the tenant unlimited (they are
// validated when written).
func RateLimit(t *store.Tenant, bucket string) int {
	// Most tenants name no limit: skip decoding their settings on every
	// request.
	if t == nil || !bytes.Contains(t.Settings, []byte(`"rate_limits"`)) {
		return 0
	}
	var s struct {
		RateLimits RateLimits `json:"rate_limits"`
	}
	if err := json.Unmarshal(t.Settings, &s); err != nil {
		return 0
	}
	var n int
	switch bucket {
	case BucketAPI:
		n = s.RateLimits.APIRPS
	case BucketToken:
		n = s.RateLimits.TokenRPS
	case BucketSCIM:
		n = s.RateLimits.SCIMRPS
	}
	return min(max(n, 0), maxRPS)
}
