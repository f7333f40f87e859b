package httpx

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TenantResolver finds a tenant by its slug; store.ErrNotFound, or any
// error, means the request has no tenant.
type TenantResolver interface {
	ResolveSlug(ctx context.Context, slug string) (*store.Tenant, error)
}

const tenantKey ctxKey = 2

// ResolveTenants resolves the tenant of every /t/{tenant}/... request once,
// for all the surfaces under that prefix (hosted pages, OpenID provider,
// SAML, SCIM), and puts it in the request's context for [Tenant]. A
// request outside the prefix, or naming no tenant, goes on without one:
// each surface answers that in its own error envelope.
//
// When res is also a [HostResolver] and the request's Host is a verified
// custom domain, the request is that domain's tenant's, served at the
// root (serveSite); [SiteOf] then answers the domain.
//
// It replaces the request, so it must wrap the metrics and access-log
// middleware rather than sit between them and the ServeMux (they read
// the pattern the mux sets on the request it is given).
func ResolveTenants(res TenantResolver, next http.Handler) http.Handler {
	hosts, _ := res.(HostResolver)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hosts != nil {
			if s, err := hosts.ResolveHost(r.Context(), hostName(r.Host)); err == nil && s != nil {
				serveSite(s, w, r, next)
				return
			}
		}
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/t/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		seg, _, _ := strings.Cut(rest, "/")
		slug, err := url.PathUnescape(seg)
		if err != nil || slug == "" {
			next.ServeHTTP(w, r)
			return
		}
		t, err := res.ResolveSlug(r.Context(), slug)
		if err != nil || t.Slug != slug {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey, t)))
	})
}

// Tenant returns the tenant [ResolveTenants] found for r, and whether
// there is one. It is the tenant named by the {tenant} wildcard of the
// pattern r matched, and nothing else: a request whose wildcard differs
// (or that matched no such pattern) has none.
func Tenant(r *http.Request) (*store.Tenant, bool) {
	t, ok := r.Context().Value(tenantKey).(*store.Tenant)
	if !ok || t.Slug != r.PathValue("tenant") {
		return nil, false
	}
	return t, true
}

// PrefixTenant returns the tenant [ResolveTenants] found for r's
// /t/{tenant}/ prefix, for middleware that runs before the ServeMux has
// matched a pattern (so [Tenant]'s wildcard check cannot apply yet).
func PrefixTenant(r *http.Request) (*store.Tenant, bool) {
	t, ok := r.Context().Value(tenantKey).(*store.Tenant)
	return t, ok
}
