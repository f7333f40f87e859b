package domain_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func newService(t *testing.T) (*domain.Service, store.TenantID) {
	t.Helper()
	db := sqltest.OpenSQLite(t)
	tn := &store.Tenant{ID: "t1", Slug: "acme", Name: "Acme"}
	if err := db.Tenants().CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return &domain.Service{Store: db, Audit: &events.Recorder{Now: time.Now}, Now: time.Now,
		PublicURL: "https://id.example.com", Policy: safehttp.Policy{AllowLoopback: true}}, tn.ID
}

// TestVerifyByTXTAndHTTP: a TXT record holding the token verifies; a
// record without it, or none, leaves the domain pending; the HTTP proof is
// fetched where GATEHOUSE_DEV_RESOLVE points, a redirect is not followed,
// and a verified domain resolves as its tenant's site with the public
// URL's scheme.
func TestVerifyByTXTAndHTTP(t *testing.T) {
	ctx := context.Background()
	svc, tn := newService(t)
	actor := events.Actor{Type: "test", ID: "t"}
	d, err := svc.Create(ctx, actor, tn, "sso.acme.test")
	if err != nil {
		t.Fatal(err)
	}
	txt := map[string][]string{}
	svc.LookupTXT = func(_ context.Context, name string) ([]string, error) {
		if r, ok := txt[name]; ok {
			return r, nil
		}
		return nil, errors.New("NXDOMAIN")
	}
	svc.Resolve = map[string]string{"sso.acme.test": "127.0.0.1:1"} // nothing listens: HTTP fails
	var verr *valid.Error
	if _, err := svc.Verify(ctx, actor, tn, "sso.acme.test"); !errors.As(err, &verr) || verr.Fields[0].Code != "unverified" {
		t.Fatalf("verify without proof: %v", err)
	}
	txt["_gatehouse.sso.acme.test"] = []string{"v=something-else"}
	if _, err := svc.Verify(ctx, actor, tn, "sso.acme.test"); !errors.As(err, &verr) {
		t.Fatalf("verify with a wrong record: %v", err)
	}
	if _, err := svc.ResolveHost(ctx, "sso.acme.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a pending domain resolved: %v", err)
	}
	txt["_gatehouse.sso.acme.test"] = []string{"other", d.Token}
	got, err := svc.Verify(ctx, actor, tn, "SSO.acme.test.")
	if err != nil || got.Status != store.DomainVerified {
		t.Fatalf("verify by TXT: %+v %v", got, err)
	}
	site, err := svc.ResolveHost(ctx, "sso.acme.test")
	if err != nil || site.Origin != "https://sso.acme.test" || site.Tenant.Slug != "acme" {
		t.Fatalf("resolved %+v %v", site, err)
	}

	// HTTP: the responder at the resolved address; a redirect is refused.
	h, err := svc.Create(ctx, actor, tn, "web.acme.test")
	if err != nil {
		t.Fatal(err)
	}
	redirect := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "web.acme.test" || r.URL.Path != domain.WellKnownPrefix+h.Token {
			http.NotFound(w, r)
			return
		}
		if redirect {
			http.Redirect(w, r, "http://elsewhere.test/", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(h.Token + "\n"))
	}))
	defer srv.Close()
	svc.Resolve["web.acme.test"] = strings.TrimPrefix(srv.URL, "http://")
	if _, err := svc.Verify(ctx, actor, tn, "web.acme.test"); !errors.As(err, &verr) {
		t.Fatalf("verify through a redirect: %v", err)
	}
	redirect = false
	if got, err := svc.Verify(ctx, actor, tn, "web.acme.test"); err != nil || got.Status != store.DomainVerified {
		t.Fatalf("verify by HTTP: %+v %v", got, err)
	}
	// Without loopback allowed, the safe dialer refuses the address.
	svc.Policy = safehttp.Policy{}
	p, _ := svc.Create(ctx, actor, tn, "third.acme.test")
	svc.Resolve["third.acme.test"] = strings.TrimPrefix(srv.URL, "http://")
	if _, err := svc.Verify(ctx, actor, tn, p.Host); !errors.As(err, &verr) || !strings.Contains(verr.Error(), "does not dial") {
		t.Fatalf("verify to a refused address: %v", err)
	}
}

// TestNormalizeHostAndResolve: what may be registered, and the
// GATEHOUSE_DEV_RESOLVE syntax (loopback targets only).
func TestNormalizeHostAndResolve(t *testing.T) {
	svc := &domain.Service{PublicURL: "https://id.example.com"}
	for in, want := range map[string]string{"Login.Example.COM.": "login.example.com", "a-b.c.test": "a-b.c.test"} {
		if got, err := svc.NormalizeHost(in); err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "localhost", "10.0.0.1", "::1", "id.example.com", "-a.test", "a_b.test",
		"a..test", "bücher.test", "x.123", strings.Repeat("a", 64) + ".test", "a.test:443", "a.test/x"} {
		if _, err := svc.NormalizeHost(bad); err == nil {
			t.Errorf("NormalizeHost(%q) accepted", bad)
		}
	}
	if m, err := domain.ParseResolve("a.test=127.0.0.1:80; B.test=[::1]:8080;"); err != nil || m["a.test"] != "127.0.0.1:80" || m["b.test"] != "[::1]:8080" {
		t.Errorf("ParseResolve = %v, %v", m, err)
	}
	for _, bad := range []string{"a.test=10.0.0.1:80", "a.test=127.0.0.1", "=127.0.0.1:80", "a.test"} {
		if _, err := domain.ParseResolve(bad); err == nil {
			t.Errorf("ParseResolve(%q) accepted", bad)
		}
	}
}
