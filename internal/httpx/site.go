package httpx

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Site is a tenant's verified custom domain a request came in on: the
// tenant is served at the root of Host, as if under /t/{tenant}.
type Site struct {
	Tenant *store.Tenant
	// Host is the domain as registered: lower case, no port.
	Host string
	// Origin is the public URL's scheme and Host, no port: the tenant's
	// issuer and the base of every URL on that domain.
	Origin string
	// PublicURL is the deployment's own public URL, whose /t/{tenant}
	// URLs in answers are moved onto Origin.
	PublicURL string
}

// HostResolver answers the verified custom domain a request's Host names;
// store.ErrNotFound (or any error) when the Host is not one, which leaves
// the request as it is (an unverified Host is never trusted).
type HostResolver interface {
	ResolveHost(ctx context.Context, host string) (*Site, error)
}

const siteKey ctxKey = 3

// SiteOf answers the custom domain the request of ctx came in on.
func SiteOf(ctx context.Context) (*Site, bool) {
	s, ok := ctx.Value(siteKey).(*Site)
	return s, ok
}

// TenantBase is the base URL of tenant slug's pages and protocols for the
// request of ctx: the custom domain's origin when the request came in on
// that tenant's domain, publicURL/t/{slug} otherwise.
func TenantBase(ctx context.Context, publicURL, slug string) string {
	if s, ok := SiteOf(ctx); ok && s.Tenant.Slug == slug {
		return s.Origin
	}
	return strings.TrimRight(publicURL, "/") + "/t/" + slug
}

// RequestOrigin is the origin a browser names in Origin for r: the public
// URL's, or, on a custom domain, the public URL's scheme with the Host the
// request came in on (the port included, as browsers send it).
func RequestOrigin(r *http.Request, publicURL string) string {
	pu, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	if _, ok := SiteOf(r.Context()); ok {
		return pu.Scheme + "://" + strings.ToLower(r.Host)
	}
	return pu.Scheme + "://" + pu.Host
}

// hostName is r's Host without port and trailing dot, lower case.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// unprefixed are the paths a custom domain serves as they are: what is
// not a tenant's (static assets, probes, metrics, the management API)
// and the domain verification responder.
var unprefixed = []string{"/assets/", "/api/", "/.well-known/gatehouse-domain/"}

// serveSite serves r, which came in on s, as a request under
// /t/{tenant}: a path of the root moves under the prefix, a path already
// under the tenant's own prefix stays, another tenant's prefix is not
// found (a domain serves its own tenant only). Answers are moved back:
// redirects and cookie paths under the prefix point at the root.
func serveSite(s *Site, w http.ResponseWriter, r *http.Request, next http.Handler) {
	prefix := "/t/" + s.Tenant.Slug
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz" || p == "/metrics":
	case hasAnyPrefix(p, unprefixed):
	case p == prefix || strings.HasPrefix(p, prefix+"/"):
	case strings.HasPrefix(p, "/t/"):
		http.NotFound(w, r)
		return
	default:
		u := *r.URL
		u.Path = prefix + p
		if u.RawPath != "" {
			u.RawPath = prefix + u.RawPath
		}
		r2 := *r
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
		r = &r2
	}
	ctx := context.WithValue(context.WithValue(r.Context(), tenantKey, s.Tenant), siteKey, s)
	next.ServeHTTP(&siteWriter{ResponseWriter: w, s: s, prefix: prefix}, r.WithContext(ctx))
}

func hasAnyPrefix(p string, prefixes []string) bool {
	for _, x := range prefixes {
		if strings.HasPrefix(p, x) {
			return true
		}
	}
	return false
}

// siteWriter moves the answer's redirect and cookie paths from the
// /t/{tenant} prefix (and the public URL) onto the custom domain's root,
// so the browser stays on the domain and its cookies cover every page.
type siteWriter struct {
	http.ResponseWriter
	s      *Site
	prefix string
	done   bool
}

func (w *siteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *siteWriter) Flush() {
	w.rewrite()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *siteWriter) WriteHeader(code int) {
	w.rewrite()
	w.ResponseWriter.WriteHeader(code)
}

func (w *siteWriter) Write(b []byte) (int, error) {
	w.rewrite()
	return w.ResponseWriter.Write(b)
}

func (w *siteWriter) rewrite() {
	if w.done {
		return
	}
	w.done = true
	h := w.Header()
	if loc := h.Get("Location"); loc != "" {
		h.Set("Location", w.moveURL(loc))
	}
	if cs := h.Values("Set-Cookie"); len(cs) > 0 {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = w.moveCookie(c)
		}
		h["Set-Cookie"] = out
	}
}

// moveURL answers loc on the domain: /t/{tenant}/x becomes /x, and the
// public URL's /t/{tenant}/x becomes the domain's origin /x.
func (w *siteWriter) moveURL(loc string) string {
	abs := strings.TrimRight(w.s.PublicURL, "/") + w.prefix
	switch {
	case loc == w.prefix || strings.HasPrefix(loc, w.prefix+"/") || strings.HasPrefix(loc, w.prefix+"?"):
		rest := strings.TrimPrefix(loc, w.prefix)
		if rest == "" || rest[0] == '?' {
			rest = "/" + rest
		}
		return rest
	case loc == abs || strings.HasPrefix(loc, abs+"/") || strings.HasPrefix(loc, abs+"?"):
		rest := strings.TrimPrefix(loc, abs)
		if rest == "" || rest[0] == '?' {
			rest = "/" + rest
		}
		return w.s.Origin + rest
	}
	return loc
}

// moveCookie rewrites a Set-Cookie's Path under the prefix to the root
// path it stands for on the domain.
func (w *siteWriter) moveCookie(c string) string {
	parts := strings.Split(c, ";")
	for i, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(k, "Path") {
			continue
		}
		if v == w.prefix || strings.HasPrefix(v, w.prefix+"/") {
			nv := strings.TrimPrefix(v, w.prefix)
			if nv == "" {
				nv = "/"
			}
			parts[i] = " Path=" + nv
		}
	}
	return strings.Join(parts, ";")
}
