package region

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// catalogue places acme (and its id) in us; broken fails every lookup.
type catalogue struct{ broken bool }

func (c catalogue) Elsewhere(_ context.Context, ref string) (string, error) {
	if c.broken {
		return "", errors.New("catalogue down")
	}
	if ref == "acme" || ref == "0190a000-0000-7000-8000-000000000001" {
		return "us", nil
	}
	return "", nil
}

// TestRouter: another region's browser pages are redirected, its API,
// token and creation requests proxied with Gatehouse-Region; this
// region's requests, forwarded ones and lookups that fail stay here.
func TestRouter(t *testing.T) {
	var seen []string
	us := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get(Header)+" "+string(body))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer us.Close()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Local", string(body))
		w.WriteHeader(http.StatusNoContent)
	})
	for _, c := range []struct {
		name, method, path, accept, body, header string
		broken                                   bool
		status                                   int
		location, upstream                       string
	}{
		{name: "page redirected", method: "GET", path: "/t/acme/account/login?x=1", accept: "text/html",
			status: 307, location: us.URL + "/t/acme/account/login?x=1"},
		{name: "discovery proxied", method: "GET", path: "/t/acme/.well-known/openid-configuration",
			status: 418, upstream: "GET /t/acme/.well-known/openid-configuration us "},
		{name: "token proxied", method: "POST", path: "/t/acme/oauth/token", accept: "text/html", body: "grant_type=x",
			status: 418, upstream: "POST /t/acme/oauth/token us grant_type=x"},
		{name: "api by id proxied", method: "GET", path: "/api/v1/tenants/0190a000-0000-7000-8000-000000000001/users", accept: "text/html",
			status: 418, upstream: "GET /api/v1/tenants/0190a000-0000-7000-8000-000000000001/users us "},
		{name: "create in us proxied", method: "POST", path: "/api/v1/tenants", body: `{"slug":"x","region":"us"}`,
			status: 418, upstream: `POST /api/v1/tenants us {"slug":"x","region":"us"}`},
		{name: "create here kept, body intact", method: "POST", path: "/api/v1/tenants", body: `{"slug":"x","region":"eu"}`, status: 204},
		{name: "create in unknown region kept", method: "POST", path: "/api/v1/tenants", body: `{"slug":"x","region":"ap"}`, status: 204},
		{name: "own tenant kept", method: "GET", path: "/t/globex/account/login", accept: "text/html", status: 204},
		{name: "forwarded once kept", method: "GET", path: "/t/acme/keys", header: "us", status: 204},
		{name: "catalogue down kept", method: "GET", path: "/t/acme/keys", broken: true, status: 204},
		{name: "other paths kept", method: "GET", path: "/healthz", status: 204},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen = nil
			rt, err := New(catalogue{broken: c.broken}, "eu", map[string]string{"eu": "http://eu.invalid", "us": us.URL}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			if c.header != "" {
				req.Header.Set(Header, c.header)
			}
			rec := httptest.NewRecorder()
			rt.Wrap(local).ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if c.location != "" && rec.Header().Get("Location") != c.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), c.location)
			}
			if c.status != 204 && rec.Header().Get(Header) != "us" {
				t.Errorf("answer lacks %s: %v", Header, rec.Header())
			}
			if c.upstream != "" && (len(seen) != 1 || seen[0] != c.upstream) {
				t.Errorf("upstream saw %q, want %q", seen, c.upstream)
			}
			if c.status == 204 && len(seen) > 0 {
				t.Errorf("forwarded: %q", seen)
			}
			if c.status == 204 && rec.Header().Get("X-Local") != c.body {
				t.Errorf("the handler read %q, want %q", rec.Header().Get("X-Local"), c.body)
			}
		})
	}
	// A region that does not answer is a 502 problem naming the region.
	rt, _ := New(catalogue{}, "eu", map[string]string{"us": "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	rt.Wrap(local).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/tenants/acme", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "region us") || rec.Header().Get(Header) != "us" {
		t.Errorf("unreachable region: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
