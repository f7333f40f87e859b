package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// suspendedOpen are the reads a suspended tenant still answers: what lets
// resource servers check tokens already issued and what its pages link to.
var suspendedOpen = map[string]bool{
	"/.well-known/openid-configuration": true, "/keys": true, "/saml/metadata": true,
	"/branding.css": true, "/branding/logo": true, "/logged-out": true,
}

// suspendedTokenPaths issue or refresh tokens: they answer in OAuth's JSON.
var suspendedTokenPaths = map[string]bool{
	"/oauth/token": true, "/device_authorization": true, "/par": true,
}

// refuseSuspended stops every sign-in and token request of a suspended
// tenant before any surface sees it: token requests get 400
// unauthorized_client naming the suspension, SCIM writes a SCIM 403, and
// everything else the hosted "service suspended" page. Introspection,
// revocation and userinfo go on, so existing tokens can be checked or
// revoked.
func refuseSuspended(pages *web.Pages, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := httpx.PrefixTenant(r)
		if !ok || t.Serves() {
			next.ServeHTTP(w, r)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/t/"+t.Slug)
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case read && suspendedOpen[rest]:
			next.ServeHTTP(w, r)
		case rest == "/oauth/introspect" || rest == "/revoke" || rest == "/userinfo":
			next.ServeHTTP(w, r)
		case suspendedTokenPaths[rest]:
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteJSON(w, http.StatusBadRequest, map[string]string{
				"error":             "unauthorized_client",
				"error_description": "The tenant is suspended: no tokens are issued or refreshed.",
			})
		case strings.HasPrefix(rest, "/scim/"):
			if read {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403","detail":"The tenant is suspended: SCIM is read-only."}`))
		default:
			pages.Suspended(w, r, t)
		}
	})
}
