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
