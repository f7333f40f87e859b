package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPagesInThreeLanguages: the hosted pages of the real binary speak
// English, German and Spanish, chosen by ui_locales carried through the
// login flow, then Accept-Language, then the tenant's default; discovery
// advertises exactly those; the tenant's branding reaches every page.
func TestPagesInThreeLanguages(t *testing.T) {
	d := deploy(t, backends(t)[0])
	d.user(t, "default", adaEmail, adaPW)
	m := d.discover(t, "default")
	var disc struct {
		UILocales []string `json:"ui_locales_supported"`
	}
	if err := json.Unmarshal(get(t, nil, m.Issuer+"/.well-known/openid-configuration").Raw, &disc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(disc.UILocales, []string{"en", "de", "es"}) {
		t.Errorf("ui_locales_supported %v", disc.UILocales)
	}
	r := d.rp(t, "default")
	want := map[string][]string{
		"en": {"<title>Sign in · ", "Email or username", "Incorrect email, username or password."},
		"de": {"<title>Anmelden · ", "E-Mail-Adresse oder Benutzername", "E-Mail-Adresse, Benutzername oder Passwort ist falsch."},
		"es": {"<title>Iniciar sesión · ", "Correo electrónico o nombre de usuario", "Correo electrónico, nombre de usuario o contraseña incorrectos."},
	}
	langOf := regexp.MustCompile(`<html lang="([a-z]+)">`)
	formFieldRE := regexp.MustCompile(`name="(csrf|id|ui_locales)" value="([^"]*)"`)
	attempt := 0
	// login fetches the login page of a fresh authorization request with
	// ui_locales (may be "") and Accept-Language, then posts a wrong
	// password; it answers both pages.
	login := func(uiLocales, accept string) (string, string) {
		t.Helper()
		u := r.authURL("st", func(q url.Values) {
			if uiLocales != "" {
				q.Set("ui_locales", uiLocales)
			}
		})
		req, _ := http.NewRequest("GET", u, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		res, err := r.browser.Do(req) // follows /authorize to /login
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("login page: %v %v", err, res)
		}
		page := readAll(t, res)
		hidden := map[string]string{}
		for _, mm := range formFieldRE.FindAllStringSubmatch(page, -1) {
			hidden[mm[1]] = mm[2]
		}
		// The error page after a wrong password (an unknown account each
		// time, so the throttle stays out of it): the page's language,
		// carried by the form, though the POST has no Accept-Language.
		attempt++
		res, err = r.browser.PostForm(res.Request.URL.Scheme+"://"+res.Request.URL.Host+"/t/default/login", url.Values{
			"csrf": {hidden["csrf"]}, "id": {hidden["id"]}, "ui_locales": {hidden["ui_locales"]},
			"identifier": {fmt.Sprintf("nobody%d@example.com", attempt)}, "password": {"wrong password!"}})
		if err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %v %v", err, res)
		}
		return page, readAll(t, res)
	}
	for _, tc := range []struct{ ui, accept, lang string }{
		{"", "", "en"},
		{"de", "", "de"},
		{"es-MX en", "de", "es"},
		{"", "de-CH, de;q=0.9, en;q=0.5", "de"},
		{"fr", "es-ES,es;q=0.9", "es"},
		{"fr", "", "en"},
	} {
		page, failed := login(tc.ui, tc.accept)
		if got := langOf.FindStringSubmatch(page); got == nil || got[1] != tc.lang {
			t.Errorf("ui_locales %q, Accept-Language %q: lang %v, want %s", tc.ui, tc.accept, got, tc.lang)
		}
		for i, w := range want[tc.lang] {
			body := page
			if i == 2 {
				body = failed
			}
			if !strings.Contains(body, w) {
				t.Errorf("ui_locales %q, Accept-Language %q: no %q", tc.ui, tc.accept, w)
			}
		}
	}

	// The tenant's default language and branding, on the provider's pages too.
	d.platform(t).must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"default_locale": "es", "branding": map[string]any{"display_name": "Acme Clientes", "support_email": "ayuda@acme.example"}}})
	// Pages resolve the tenant from a 2-second cache.
	if !eventually(func() bool {
		return strings.Contains(string(get(t, nil, d.base+"/t/default/logged-out").Raw), "Acme Clientes")
	}) {
		t.Fatal("branding not applied")
	}
	for path, texts := range map[string][]string{
		"/t/default/device":                       {"Conectar un dispositivo", "Introduzca el código"},
		"/t/default/logged-out":                   {"Sesión cerrada"},
		"/t/default/end_session":                  {"¿Cerrar sesión?", `name="confirm"`},
		"/t/default/account/login":                {"Inicie sesión para gestionar su cuenta."},
		"/t/default/login?id=no-such-request":     {"Inicio de sesión caducado"},
		"/t/default/device?ui_locales=de":         {"Gerät verbinden"},
		"/t/default/end_session?ui_locales=de-AT": {"Abmelden?"},
	} {
		res := get(t, nil, d.base+path)
		body := string(res.Raw)
		if !strings.Contains(body, "Acme Clientes") || !strings.Contains(body, "mailto:ayuda@acme.example") ||
			!strings.Contains(body, `href="/t/default/branding.css"`) {
			t.Errorf("%s: not branded: %.300s", path, body)
		}
		for _, w := range texts {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q", path, w)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	// Bad branding through the API: 400 naming the field, nothing stored.
	res := d.platform(t).do("PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"branding": map[string]any{"logo_url": "javascript:alert(1)"}}})
	if res.Status != 400 || !strings.Contains(string(res.Body), "settings.branding.logo_url") {
		t.Errorf("bad logo: %d %s", res.Status, res.Body)
	}
	var tn struct {
		Settings json.RawMessage `json:"settings"`
	}
	d.platform(t).must(200, "GET", "/api/v1/tenants/default", nil).json(t, &tn)
	if strings.Contains(string(tn.Settings), "javascript") {
		t.Errorf("refused logo stored: %s", tn.Settings)
	}
}

// readAll reads and closes a response body (at most 1 MiB).
func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
