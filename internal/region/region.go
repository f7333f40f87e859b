// Package region routes the requests of a tenant that lives in another
// region to that region's nodes (docs/regions.md): browser pages are
// redirected there with the same path, everything else (the management
// API, the token endpoint, discovery, SCIM...) is proxied, with the
// Gatehouse-Region header naming the region on the forwarded request and
// on the answer. It reads the tenant from the path only; which region a
// tenant is in comes from a Locator (the tenant catalogue).
package region

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Header names the region a request was forwarded to; a request that
// carries it is never forwarded again (no loops between regions).
const Header = "Gatehouse-Region"

// maxCreateBody bounds what the router reads of a tenant creation to find
// the region it asks for.
const maxCreateBody = 1 << 20

// Locator answers the region of a tenant (slug or id) when it is another
// region than this node's, and "" when it is this node's or unknown.
type Locator interface {
	Elsewhere(ctx context.Context, ref string) (string, error)
}

// Router forwards other regions' requests. Build it with New.
type Router struct {
	loc     Locator
	region  string
	urls    map[string]*url.URL
	proxies map[string]*httputil.ReverseProxy
	log     *slog.Logger
}

// New answers a router for a node of region self; urls maps every region
// to its public base URL. Regions without a URL are served locally.
func New(loc Locator, self string, urls map[string]string, log *slog.Logger) (*Router, error) {
	rt := &Router{loc: loc, region: self, urls: map[string]*url.URL{}, proxies: map[string]*httputil.ReverseProxy{}, log: log}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	for name, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		rt.urls[name] = u
		if name == self {
			continue
		}
		rt.proxies[name] = rt.proxy(name, u, tr)
	}
	return rt, nil
}

// proxy forwards to one region: the path and query unchanged, the Host of
// the target, X-Forwarded-For extended with the client (the target trusts
// it when this node is among its trusted proxies).
func (rt *Router) proxy(name string, target *url.URL, tr http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
				pr.Out.Header["X-Forwarded-For"] = prior
			}
			pr.SetXForwarded()
			pr.Out.Header.Set(Header, name)
		},
		ModifyResponse: func(res *http.Response) error {
			res.Header.Set(Header, name)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rt.log.WarnContext(r.Context(), "region: forwarding failed", "region", name, "err", err)
			w.Header().Set(Header, name)
			httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusBadGateway, "region-unavailable",
				"Region unavailable", "The tenant lives in region "+name+", which did not answer."))
		},
	}
}

// Wrap routes the requests of other regions' tenants and passes the rest
// to next. It must run inside httpx.ResolveTenants: a /t/{tenant}/ request
// whose tenant resolved here is this region's and goes on at once.
func (rt *Router) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(Header) != "" {
			next.ServeHTTP(w, r) // forwarded once already: served here
			return
		}
		region := rt.regionOf(r)
		if region == "" {
			next.ServeHTTP(w, r)
			return
		}
		if browserPage(r) {
			u := *rt.urls[region]
			u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
			w.Header().Set(Header, region)
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
			return
		}
		rt.proxies[region].ServeHTTP(w, r)
	})
}

// regionOf answers the other region r belongs to, or "" for this one.
func (rt *Router) regionOf(r *http.Request) string {
	ref := ""
	switch {
	case strings.HasPrefix(r.URL.Path, "/t/"):
		if _, ok := httpx.PrefixTenant(r); ok {
			return ""
		}
		ref = segment(r.URL.EscapedPath(), "/t/")
	case strings.HasPrefix(r.URL.Path, "/api/v1/tenants/"):
		ref = segment(r.URL.EscapedPath(), "/api/v1/tenants/")
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/tenants":
		return rt.createRegion(r)
	default:
		return ""
	}
	if ref == "" {
		return ""
	}
	region, err := rt.loc.Elsewhere(r.Context(), ref)
	if err != nil {
		// The catalogue is unreachable: serve here, which answers what
		// this region knows (a 404 for another region's tenant).
		rt.log.WarnContext(r.Context(), "region: catalogue lookup failed", "err", err)
		return ""
	}
	if rt.proxies[region] == nil {
		return ""
	}
	return region
}

// createRegion answers the region a tenant creation asks for when it is
// another's; it reads the body (bounded) and puts it back for the handler.
func (rt *Router) createRegion(r *http.Request) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil || len(body) > maxCreateBody {
		return ""
	}
	var in struct {
		Region string `json:"region"`
	}
	if json.Unmarshal(body, &in) != nil || in.Region == rt.region || rt.proxies[in.Region] == nil {
		return ""
	}
	return in.Region
}

// segment answers the unescaped path segment after prefix.
func segment(escaped, prefix string) string {
	rest := strings.TrimPrefix(escaped, prefix)
	seg, _, _ := strings.Cut(rest, "/")
	s, err := url.PathUnescape(seg)
	if err != nil {
		return ""
	}
	return s
}

// browserPage reports whether r is a browser navigating (a GET or HEAD
// that accepts HTML): it is redirected, so the browser talks to the
// tenant's region itself from then on. Programs are proxied.
func browserPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
