package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// policyName names the one policy of every limited answer.
const policyName = `"tenant"`

// Wrap limits the requests next serves on the limited surfaces: the token
// endpoint (/t/{tenant}/oauth/token), SCIM (/t/{tenant}/scim/v2/...) and
// the management API of a tenant (/api/v1/tenants/{tenant}/...). It must
// run inside httpx.ResolveTenants, which resolves the /t/{tenant} prefix.
// Requests naming no known tenant pass through: their surface answers
// them (404) without taking from anyone's bucket.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, bucket := l.classify(r)
		if t == nil {
			next.ServeHTTP(w, r)
			return
		}
		d, limited := l.Decide(r.Context(), t, bucket)
		if !limited {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Policy", policyName+";q="+strconv.Itoa(d.Quota)+";w="+strconv.FormatInt(seconds(window), 10))
		h.Set("RateLimit", policyName+";r="+strconv.Itoa(d.Remaining)+";t="+strconv.FormatInt(seconds(d.Reset), 10))
		if d.OK {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Retry-After", strconv.FormatInt(seconds(d.Reset), 10))
		if l.OnRefuse != nil {
			l.OnRefuse(t, bucket)
		}
		refuse(w, r, bucket)
	})
}

// classify answers the tenant and bucket of a limited request, or nil.
func (l *Limiter) classify(r *http.Request) (*store.Tenant, string) {
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/v1/tenants/"); ok {
		seg, _, _ := strings.Cut(rest, "/")
		ref, err := url.PathUnescape(seg)
		if err != nil || ref == "" {
			return nil, ""
		}
		t, err := l.Resolve(r.Context(), ref)
		if err != nil {
			return nil, ""
		}
		return t, tenancy.BucketAPI
	}
	rest, ok := strings.CutPrefix(path, "/t/")
	if !ok {
		return nil, ""
	}
	t, ok := httpx.PrefixTenant(r)
	if !ok {
		return nil, ""
	}
	_, sub, _ := strings.Cut(rest, "/")
	switch {
	case sub == "oauth/token":
		return t, tenancy.BucketToken
	case sub == "scim/v2" || strings.HasPrefix(sub, "scim/v2/"):
		return t, tenancy.BucketSCIM
	}
	return nil, ""
}

// refuse answers 429 in the error envelope of the bucket's surface.
func refuse(w http.ResponseWriter, r *http.Request, bucket string) {
	const detail = "The tenant's request rate limit is reached; retry after the delay in Retry-After."
	switch bucket {
	case tenancy.BucketAPI:
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests", detail))
	case tenancy.BucketSCIM:
		writeJSON(w, "application/scim+json", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
			"status":  "429",
			"detail":  detail,
		})
	default:
		writeJSON(w, "application/json", map[string]string{
			"error":             "temporarily_unavailable",
			"error_description": detail,
		})
	}
}

func writeJSON(w http.ResponseWriter, ctype string, v any) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(v)
}
