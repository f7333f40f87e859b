package server

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// TestSAMLPagesTranslated: the identity provider's error and sign-out
// pages use the shared layout in the browser's language.
func TestSAMLPagesTranslated(t *testing.T) {
	ta := newTestApp(t, backends[0])
	ta.tenant("acme")
	for _, tc := range []struct {
		path, lang string
		status     int
		want       string
	}{
		{"/t/acme/saml/launch/no-such-sp", "de", http.StatusNotFound, "Diese Anwendung ist nicht verfügbar."},
		{"/t/acme/saml/launch/no-such-sp", "es", http.StatusNotFound, "Esta aplicación no está disponible."},
		{"/t/acme/saml/sso", "de", http.StatusBadRequest, "Diese Anmeldeanfrage konnte nicht angenommen werden."},
		{"/t/acme/saml/logout", "es", http.StatusOK, "¿Cerrar sesión en Tenant acme y en todas las aplicaciones"},
		{"/t/acme/saml/logout", "en", http.StatusOK, "Sign out of Tenant acme and every application"},
	} {
		res := ta.do(request{method: http.MethodGet, path: tc.path, header: map[string]string{"Accept-Language": tc.lang}})
		body := html.UnescapeString(string(res.body))
		if res.status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s (%s): %d, want %d with %q:\n%s", tc.path, tc.lang, res.status, tc.status, tc.want, body)
		}
		if !strings.Contains(body, `<html lang="`+tc.lang+`">`) || res.header.Get("Content-Language") != tc.lang {
			t.Errorf("%s (%s): not the shared layout in %s", tc.path, tc.lang, tc.lang)
		}
		if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
}
