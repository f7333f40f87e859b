package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// countingResolver knows the tenants of slugs and counts its lookups.
type countingResolver struct {
	mu    sync.Mutex
	slugs map[string]*store.Tenant
	calls map[string]int
}

func (c *countingResolver) ResolveSlug(_ context.Context, slug string) (*store.Tenant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[slug]++
	if t, ok := c.slugs[slug]; ok {
		return t, nil
	}
	return nil, store.ErrNotFound
}

// TestResolveTenants: one lookup per /t/{tenant}/ request, none outside
// the prefix; a handler sees the tenant only when the slug is known and is
// its pattern's {tenant}.
func TestResolveTenants(t *testing.T) {
	res := &countingResolver{
		slugs: map[string]*store.Tenant{
			"acme": {ID: "id-acme", Slug: "acme"},
			// A resolver that answers another slug's tenant (a stale
			// cache, a case fold) must not hand that tenant out.
			"ACME": {ID: "id-acme", Slug: "acme"},
		},
		calls: map[string]int{},
	}
	mux := http.NewServeMux()
	show := func(w http.ResponseWriter, r *http.Request) {
		if tn, ok := httpx.Tenant(r); ok {
			io.WriteString(w, string(tn.ID))
			return
		}
		io.WriteString(w, "none")
	}
	mux.HandleFunc("GET /t/{tenant}/page", show)
	mux.HandleFunc("GET /t/{tenant}/a/b", show)
	mux.HandleFunc("GET /other/{tenant}", show)
	srv := httptest.NewServer(httpx.ResolveTenants(res, mux))
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{
		{"/t/acme/page", "id-acme"},
		{"/t/acme/a/b", "id-acme"},
		{"/t/nope/page", "none"},
		{"/t/ACME/page", "none"},
		{"/other/acme", "none"},
	} {
		res, err := srv.Client().Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != tc.want {
			t.Errorf("%s: handler saw tenant %q, want %q", tc.path, b, tc.want)
		}
	}
	want := map[string]int{"acme": 2, "nope": 1, "ACME": 1}
	for slug, n := range want {
		if res.calls[slug] != n {
			t.Errorf("lookups of %q = %d, want %d", slug, res.calls[slug], n)
		}
	}
	if len(res.calls) != len(want) {
		t.Errorf("lookups %v, want only %v", res.calls, want)
	}
}

// TestTenantWithoutMiddleware: a handler not behind ResolveTenants has no
// tenant, so it cannot act on an unresolved one.
func TestTenantWithoutMiddleware(t *testing.T) {
	r := httptest.NewRequest("GET", "/t/acme/page", nil)
	r.SetPathValue("tenant", "acme")
	if tn, ok := httpx.Tenant(r); ok || tn != nil {
		t.Errorf("Tenant = %v, %v; want none", tn, ok)
	}
}
