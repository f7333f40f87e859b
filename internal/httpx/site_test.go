package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type siteResolver struct{ acme *store.Tenant }

func (s siteResolver) ResolveSlug(_ context.Context, slug string) (*store.Tenant, error) {
	if slug == s.acme.Slug {
		return s.acme, nil
	}
	return nil, store.ErrNotFound
}

func (s siteResolver) ResolveHost(_ context.Context, host string) (*httpx.Site, error) {
	if host == "login.acme.test" {
		return &httpx.Site{Tenant: s.acme, Host: host, Origin: "https://login.acme.test", PublicURL: "https://id.example.com"}, nil
	}
	return nil, store.ErrNotFound
}

// TestResolveTenantsOnCustomDomain: a verified domain's Host serves its
// tenant at the root (paths move under /t/{tenant}, redirects and cookie
// paths move back), its own prefix still works, another tenant's prefix
// is not found there, and any other Host is left as it is.
func TestResolveTenantsOnCustomDomain(t *testing.T) {
	acme := &store.Tenant{ID: "t1", Slug: "acme"}
	mux := http.NewServeMux()
	mux.HandleFunc("/t/{tenant}/login", func(w http.ResponseWriter, r *http.Request) {
		tn, ok := httpx.Tenant(r)
		if !ok {
			http.Error(w, "no tenant", 500)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1", Path: "/t/acme/", HttpOnly: true})
		w.Header().Set("X-Base", httpx.TenantBase(r.Context(), "https://id.example.com", tn.Slug))
		http.Redirect(w, r, r.URL.Query().Get("next"), http.StatusFound)
	})
	mux.HandleFunc("/assets/x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := httpx.ResolveTenants(siteResolver{acme}, mux)

	do := func(host, target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, c := range []struct{ next, want string }{
		{"/t/acme/login/mfa?id=1", "/login/mfa?id=1"},
		{"/t/acme?x=1", "/?x=1"},
		{"https://id.example.com/t/acme/consent", "https://login.acme.test/consent"},
		{"https://rp.example.com/cb", "https://rp.example.com/cb"},
		{"/t/acmex/login", "/t/acmex/login"},
	} {
		rec := do("Login.Acme.Test:8443", "/login?next="+c.next)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != c.want {
			t.Errorf("redirect to %s: %d %q, want %q", c.next, rec.Code, rec.Header().Get("Location"), c.want)
		}
		if rec.Header().Get("X-Base") != "https://login.acme.test" {
			t.Errorf("base on the domain = %q", rec.Header().Get("X-Base"))
		}
		if got := rec.Header().Get("Set-Cookie"); got != "s=1; Path=/; HttpOnly" {
			t.Errorf("cookie on the domain: %q", got)
		}
	}
	if rec := do("login.acme.test", "/t/acme/login?next=/x"); rec.Code != http.StatusFound {
		t.Errorf("the tenant's own prefix on its domain: %d", rec.Code)
	}
	if rec := do("login.acme.test", "/t/other/login?next=/x"); rec.Code != http.StatusNotFound {
		t.Errorf("another tenant's prefix on the domain: %d", rec.Code)
	}
	if rec := do("login.acme.test", "/assets/x"); rec.Code != http.StatusNoContent {
		t.Errorf("assets on the domain: %d", rec.Code)
	}
	// Another Host: nothing moves, the base is the public URL's.
	rec := do("evil.test", "/t/acme/login?next=/t/acme/x")
	if rec.Header().Get("Location") != "/t/acme/x" || rec.Header().Get("X-Base") != "https://id.example.com/t/acme" {
		t.Errorf("on another Host: %q %q", rec.Header().Get("Location"), rec.Header().Get("X-Base"))
	}
	if rec := do("evil.test", "/login"); rec.Code != http.StatusNotFound {
		t.Errorf("root path on an unknown Host: %d", rec.Code)
	}
}
