package ui

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var testPage = Parse(fstest.MapFS{"p.html": {Data: []byte(
	`{{define "content"}}<label for="x">{{t "login.identifier"}}</label><input id="x">{{end}}`)}}, "p.html")

func tenant(settings string) *store.Tenant {
	return &store.Tenant{ID: "t1", Slug: "acme", Name: "Acme", Settings: []byte(settings)}
}

func TestRenderLanguageAndBranding(t *testing.T) {
	tn := tenant(`{"branding":{"display_name":"Acme Shop","logo_url":"https://cdn.acme.example/l.png",
		"primary_color":"#ffff00","support_email":"help@acme.example"},"default_locale":"es"}`)
	cases := []struct {
		query, accept, lang, label, title string
	}{
		{"", "", "es", "Correo electrónico o nombre de usuario", "Iniciar sesión"},
		{"", "de-DE,de;q=0.9", "de", "E-Mail-Adresse oder Benutzername", "Anmelden"},
		{"?ui_locales=en-US", "de", "en", "Email or username", "Sign in"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/t/acme/login"+tc.query, nil)
		if tc.accept != "" {
			r.Header.Set("Accept-Language", tc.accept)
		}
		f := FrameFor(r, tn, nil, "login.title")
		w := httptest.NewRecorder()
		SetHeaders(w, f.Brand)
		testPage.Render(w, nil, 200, f.Lang, f)
		body := w.Body.String()
		for _, want := range []string{
			`<html lang="` + tc.lang + `">`, tc.label, "<title>" + tc.title + " · Acme Shop</title>",
			`<link rel="stylesheet" href="/t/acme/branding.css">`, `<img src="https://cdn.acme.example/l.png" alt="">`,
			`<a href="mailto:help@acme.example">help@acme.example</a>`, `name="viewport"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: body lacks %s", tc.lang, want)
			}
		}
		if got := w.Header().Get("Content-Language"); got != tc.lang {
			t.Errorf("Content-Language %q, want %q", got, tc.lang)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "img-src 'self' https://cdn.acme.example;") || !strings.Contains(csp, "style-src 'self';") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(body, "style=") || strings.Contains(body, "<style") {
			t.Errorf("inline style in the page (the CSP forbids it)")
		}
	}
	// Explicit ui_locales (from the login flow) win over the query.
	r := httptest.NewRequest("GET", "/t/acme/login?ui_locales=de", nil)
	if f := FrameFor(r, tn, []string{"en"}, "login.title"); f.Lang != "en" {
		t.Errorf("flow ui_locales ignored: %s", f.Lang)
	}
	// No branding: the tenant name, no logo, no support line, 'self' images.
	r = httptest.NewRequest("GET", "/t/acme/login", nil)
	f := FrameFor(r, tenant(`{}`), nil, "login.title")
	w := httptest.NewRecorder()
	testPage.Render(w, nil, 200, f.Lang, f)
	if body := w.Body.String(); strings.Contains(body, "<img") || strings.Contains(body, "mailto:") || !strings.Contains(body, "· Acme</title>") {
		t.Errorf("unbranded page: %s", body)
	}
	if csp := CSP(f.Brand); !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("unbranded CSP %q", csp)
	}
}

// TestKeysExist: every message key the pages use is in the catalog (the
// i18n tests then hold all three languages to it).
func TestKeysExist(t *testing.T) {
	tmplKey := regexp.MustCompile(`\{\{t "([a-z_.]+)"`)
	goKey := regexp.MustCompile(`"((?:error|login|logout|consent|device|account|scope|layout|saml)\.[a-z_]+)"`)
	n := 0
	for _, pattern := range []string{"../web/templates/*.html", "../oidc/templates/*.html", "../saml/templates/*.html",
		"templates/*.html", "../web/*.go", "../oidc/*.go", "../saml/*.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v (no files)", pattern, err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			re := tmplKey
			if strings.HasSuffix(f, ".go") {
				re = goKey
			}
			for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
				n++
				if !i18n.Default().Has(m[1]) {
					t.Errorf("%s uses %q, which is not in the catalog", f, m[1])
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d keys found: the scan is broken", n)
	}
}
