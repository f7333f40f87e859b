package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOIDCRouteLabels: each OpenID provider endpoint is its own route in
// /metrics and the access log, labelled by its pattern, never by the
// tenant's slug.
func TestOIDCRouteLabels(t *testing.T) {
	ta := newTestApp(t, backends[0])
	ta.tenant("tenant-r")
	form := func(path string) {
		ta.do(request{method: http.MethodPost, path: path,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	}
	ta.get("/t/tenant-r/.well-known/openid-configuration", "")
	ta.get("/t/tenant-r/authorize?"+url.Values{"client_id": {"nope"}}.Encode(), "")
	form("/t/tenant-r/oauth/token")
	ta.get("/t/tenant-r/userinfo", "")
	form("/t/tenant-r/oauth/introspect")
	ta.get("/t/tenant-r/keys", "")
	body := string(ta.get("/metrics", "").body)
	for _, route := range []string{
		"/t/{tenant}/.well-known/openid-configuration",
		"/t/{tenant}/authorize",
		"/t/{tenant}/oauth/token",
		"/t/{tenant}/userinfo",
		"/t/{tenant}/oauth/introspect",
		"/t/{tenant}/keys",
	} {
		if !strings.Contains(body, `route="`+route+`",`) {
			t.Errorf("/metrics has no route %q", route)
		}
		if !strings.Contains(ta.logs.String(), `"route":"`+route+`"`) {
			t.Errorf("access log has no route %q", route)
		}
	}
	if strings.Contains(body, `route="/t/{tenant}/"`) {
		t.Errorf("an endpoint fell through to the catch-all route:\n%s", grepLines(body, "/t/"))
	}
	if strings.Contains(body, "tenant-r") {
		t.Error("/metrics names the tenant's slug")
	}
}

// grepLines answers the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTenantResolvedOnceForEverySurface: pages, the OpenID provider, SAML
// and SCIM serve a known tenant from the one resolution in the middleware,
// and each answers an unknown one in its own way: 404 for browsers and
// protocol endpoints, SCIM's 401 (as for a wrong key), on both backends.
func TestTenantResolvedOnceForEverySurface(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("tenant-s")
		tok := ta.key(tn.ID, "scim")
		for _, tc := range []struct {
			path        string
			known, none int
		}{
			{"/t/%s/login", http.StatusBadRequest, http.StatusNotFound}, // no flow id: the page's own 400
			{"/t/%s/.well-known/openid-configuration", http.StatusOK, http.StatusNotFound},
			{"/t/%s/keys", http.StatusOK, http.StatusNotFound},
			{"/t/%s/saml/metadata", http.StatusOK, http.StatusNotFound},
			{"/t/%s/scim/v2/Users", http.StatusOK, http.StatusUnauthorized},
			{"/t/%s/branding.css", http.StatusOK, http.StatusNotFound},
		} {
			known := ta.get(strings.Replace(tc.path, "%s", "tenant-s", 1), tok)
			if known.status != tc.known {
				t.Errorf("%s of a known tenant: %s, want %d", tc.path, known, tc.known)
			}
			none := ta.get(strings.Replace(tc.path, "%s", "no-such-tenant", 1), tok)
			if none.status != tc.none {
				t.Errorf("%s of an unknown tenant: %s, want %d", tc.path, none, tc.none)
			}
			if strings.Contains(tc.path, "/scim/") {
				if ct := none.header.Get("Content-Type"); ct != "application/scim+json" {
					t.Errorf("SCIM unknown tenant: Content-Type %q", ct)
				}
			}
		}
	})
}
