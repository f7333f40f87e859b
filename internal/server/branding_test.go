package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestBrandingAssets: an inline logo is served from the tenant's own path
// as the image type it was checked to be; an external one goes into the
// pages' img-src; the colour reaches branding.css and nothing else can.
func TestBrandingAssets(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("acme")
	img := append([]byte("\x89PNG\r\n\x1a\n"), []byte("pixels")...)
	set := func(branding string) {
		t.Helper()
		if _, err := ta.Tenants.UpdateTenant(context.Background(), testActor, tn.ID, 0, tenancy.TenantPatch{
			Settings: json.RawMessage(`{"branding":` + branding + `}`)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond) // the pages' tenant cache
	}
	b := ta.browser()
	if p := b.get("/t/acme/branding/logo"); p.status != http.StatusNotFound {
		t.Errorf("no logo: %d", p.status)
	}
	set(`{"logo_url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(img) + `","primary_color":"#0b6e4f"}`)
	p := b.get("/t/acme/branding/logo")
	if p.status != 200 || p.header.Get("Content-Type") != "image/png" || p.body != string(img) ||
		!strings.Contains(p.header.Get("Content-Security-Policy"), "sandbox") || p.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("inline logo: %d %v", p.status, p.header)
	}
	page := b.get("/t/acme/account/login")
	if !strings.Contains(page.body, `<img src="/t/acme/branding/logo" alt="">`) ||
		!strings.Contains(page.header.Get("Content-Security-Policy"), "img-src 'self';") {
		t.Errorf("page with an inline logo: %v", page.header.Get("Content-Security-Policy"))
	}
	if css := b.get("/t/acme/branding.css"); css.body != ":root{--brand:#0b6e4f}\n" {
		t.Errorf("branding.css %q", css.body)
	}
	set(`{"logo_url":"https://cdn.acme.example/logo.png"}`)
	if p := b.get("/t/acme/branding/logo"); p.status != http.StatusNotFound {
		t.Errorf("external logo served locally: %d", p.status)
	}
	page = b.get("/t/acme/account/login")
	if !strings.Contains(page.body, `<img src="https://cdn.acme.example/logo.png" alt="">`) ||
		!strings.Contains(page.header.Get("Content-Security-Policy"), "img-src 'self' https://cdn.acme.example;") {
		t.Errorf("page with an external logo: %v", page.header.Get("Content-Security-Policy"))
	}
	if p := b.get("/t/nope/branding.css"); p.status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", p.status)
	}
}
