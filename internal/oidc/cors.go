package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Cross-origin access (CORS) for browser applications. Single-page apps
// are public clients that call the token, revocation and userinfo
// endpoints from their own origin; those endpoints answer a page only of an
// origin of the client concerned: the origins of its redirect URIs and its
// allowed_origins. Discovery and the JWKS are public documents, readable by
// any page (Access-Control-Allow-Origin: *). Nothing else of the provider,
// and none of the hosted pages or the management API, answers cross-origin,
// and credentials (cookies) are never allowed cross-origin: no endpoint
// here sends Access-Control-Allow-Credentials.

const (
	corsMaxAge = "600"
	// corsClientScan bounds how many of a tenant's clients a preflight
	// looks through for the origin.
	corsClientScan = 2000
)

// cors adds the CORS headers a request from a page of another origin
// needs, and answers a preflight; it reports true when it answered.
func (p *Provider) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	path := r.URL.Path
	public := path == "/.well-known/openid-configuration" || path == "/keys"
	bound := path == "/oauth/token" || path == "/revoke" || path == "/userinfo"
	if origin == "" || !public && !bound {
		return false
	}
	h := w.Header()
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if public {
		h.Set("Access-Control-Allow-Origin", "*")
		if preflight {
			h.Set("Access-Control-Allow-Methods", "GET")
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
		}
		return preflight
	}
	h.Add("Vary", "Origin")
	ctx := r.Context()
	if preflight {
		// The preflight carries no credentials, so it cannot name the
		// client: it is answered for an origin of any client of the
		// tenant, and the request itself is checked against its client.
		if p.tenantOrigin(ctx, origin) {
			methods := "POST"
			if path == "/userinfo" {
				methods = "GET, POST"
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", corsMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	var id string
	if path == "/userinfo" {
		id = p.bearerClient(ctx, r)
	} else {
		id = requestClient(r)
	}
	if id == "" {
		return false
	}
	if c, err := p.storage.client(ctx, id); err == nil && allowsOrigin(c.c, origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
	}
	return false
}

// allowsOrigin: origin is one of c's allowed origins or the origin of one
// of its redirect URIs (compared exactly, as browsers send it).
func allowsOrigin(c *store.Client, origin string) bool {
	if slices.Contains(c.AllowedOrigins, origin) {
		return true
	}
	for _, u := range c.RedirectURIs {
		if oauthclient.WebOrigin(u) == origin {
			return true
		}
	}
	return false
}

// tenantOrigin reports whether origin is allowed to any client of the
// request's tenant.
func (p *Provider) tenantOrigin(ctx context.Context, origin string) bool {
	tn := tenantFrom(ctx).ID
	page := store.Page{Limit: 200}
	for seen := 0; seen < corsClientScan; {
		cs, err := p.store.OAuth().Clients().ListClients(ctx, tn, page)
		if err != nil {
			return false
		}
		for i := range cs {
			if allowsOrigin(&cs[i], origin) {
				return true
			}
		}
		if len(cs) < page.Limit {
			return false
		}
		seen += len(cs)
		page.After = cs[len(cs)-1].ID
	}
	return false
}

// requestClient is the client a token or revocation request names: the
// Basic user, the client_id parameter, or the issuer of a client
// assertion. It is not authenticated here; the endpoint does that, and a
// request that fails gets only an error to read.
func requestClient(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		return id
	}
	if r.ParseForm() != nil {
		return ""
	}
	if id := r.PostForm.Get("client_id"); id != "" {
		return id
	}
	var claims oidc.JWTTokenRequest
	if a := r.PostForm.Get("client_assertion"); a != "" && len(a) < 8<<10 {
		if _, err := oidc.ParseToken(a, &claims); err == nil {
			return claims.Issuer
		}
	}
	return ""
}

// bearerClient is the client of the live access token in the
// Authorization header, "" when there is none.
func (p *Provider) bearerClient(ctx context.Context, r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return ""
	}
	_, at, err := p.liveAccessToken(ctx, tok) // jwtaccess.go
	if err != nil {
		return ""
	}
	return at.ClientID
}
