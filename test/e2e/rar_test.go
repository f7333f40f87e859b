package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// consentThrough drives the browser from authURL through the login and the
// consent page, approving; it answers the consent page and the final
// redirect's query.
func (r *rp) consentThrough(t *testing.T, authURL, identifier, password string) (string, url.Values) {
	t.Helper()
	res, err := r.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `autocomplete="current-password"`) {
		t.Fatalf("expected the login page: %d %.300s", res.StatusCode, body)
	}
	form := url.Values{"identifier": {identifier}, "password": {password}}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	res, err = r.browser.PostForm(res.Request.URL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	consent := readAll(t, res)
	if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/consent") {
		t.Fatalf("expected the consent page: %d %s %.300s", res.StatusCode, res.Request.URL, consent)
	}
	form = formValues(consent, "csrf", "id")
	form.Set("decision", "approve")
	res, err = r.browser.PostForm(res.Request.URL.Scheme+"://"+res.Request.URL.Host+res.Request.URL.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), r.redirect) {
		t.Fatalf("after consent: %d %q %.300s", res.StatusCode, res.Header.Get("Location"), b)
	}
	return consent, loc.Query()
}

// TestRAR: RFC 9396 authorization details of a type the tenant registered
// with its JSON Schema go through the consent page (shown, translated)
// into the access token, the token response (golang.org/x/oauth2), the
// refreshed token and introspection; unknown types, objects that break
// the schema and bad JSON are refused; the management API checks schemas.
func TestRAR(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", "rar@example.com", "a long rar passphrase")
			api := d.platform(t)
			schema := map[string]any{"type": "object", "required": []string{"type", "actions", "instructedAmount"},
				"properties": map[string]any{
					"actions": map[string]any{"type": "array", "items": map[string]any{"enum": []string{"initiate", "status"}}},
					"instructedAmount": map[string]any{"type": "object", "required": []string{"currency", "amount"},
						"properties": map[string]any{"currency": map[string]any{"type": "string", "pattern": "^[A-Z]{3}$"},
							"amount": map[string]any{"type": "string", "pattern": "^[0-9]+(\\.[0-9]{2})?$"}}},
					"creditorName": map[string]any{"type": "string", "maxLength": 70}}}
			api.must(200, "PUT", "/api/v1/tenants/default/authorization-detail-types/payment_initiation",
				map[string]any{"description": "Payment", "schema": schema})
			if r := api.do("PUT", "/api/v1/tenants/default/authorization-detail-types/broken",
				map[string]any{"schema": map[string]any{"type": 12}}); r.Status != 400 {
				t.Fatalf("a schema that does not compile: %d %s", r.Status, r.Body)
			}
			if r := api.do("PUT", "/api/v1/tenants/default/authorization-detail-types/remote",
				map[string]any{"schema": map[string]any{"$ref": "https://attacker.example/s.json"}}); r.Status != 400 {
				t.Fatalf("a schema with a remote reference: %d %s", r.Status, r.Body)
			}
			var list struct {
				Items []map[string]any `json:"items"`
			}
			api.must(200, "GET", "/api/v1/tenants/default/authorization-detail-types", nil).json(t, &list)
			if len(list.Items) != 1 || list.Items[0]["type"] != "payment_initiation" {
				t.Fatalf("types: %+v", list.Items)
			}

			r := d.rp(t, "default")
			details := `[{"type":"payment_initiation","actions":["initiate"],"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]`
			v := oauth2.GenerateVerifier()
			authURL := r.conf.AuthCodeURL("st-rar", oauth2.S256ChallengeOption(v),
				oauth2.SetAuthURLParam("authorization_details", details), oauth2.SetAuthURLParam("ui_locales", "de"))
			page, q := r.consentThrough(t, authURL, "rar@example.com", "a long rar passphrase")
			for _, want := range []string{"Einzelheiten des erbetenen Zugriffs", "Art: payment_initiation (Payment)", "Aktionen: initiate",
				"creditorName: Merchant A", `instructedAmount: {&#34;amount&#34;:&#34;123.50&#34;,&#34;currency&#34;:&#34;EUR&#34;}`} {
				if !strings.Contains(page, want) {
					t.Errorf("the consent page does not show %q: %.1500s", want, page)
				}
			}
			tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			compact := func(x any) string { b, _ := json.Marshal(x); return string(b) }
			var want any
			_ = json.Unmarshal([]byte(details), &want)
			if got := tok.Extra("authorization_details"); compact(got) != compact(want) {
				t.Fatalf("token response authorization_details = %v", got)
			}
			_, payload, _ := jwtParts(t, tok.AccessToken)
			raw, _ := base64.RawURLEncoding.DecodeString(payload)
			var claims map[string]any
			_ = json.Unmarshal(raw, &claims)
			if compact(claims["authorization_details"]) != compact(want) {
				t.Fatalf("access token authorization_details = %v", claims["authorization_details"])
			}
			m := d.discover(t, "default")
			if in := introspect(t, m, tok.AccessToken, r.conf.ClientID, r.conf.ClientSecret); !active(in) ||
				compact(in.Body["authorization_details"]) != compact(want) {
				t.Fatalf("introspection: %v", in.Body)
			}
			rt := postForm(t, m.Token, refreshForm(tok.RefreshToken), r.conf.ClientID, r.conf.ClientSecret)
			if compact(rt.Body["authorization_details"]) != compact(want) {
				t.Fatalf("refreshed: %d %v", rt.Status, rt.Body)
			}

			for name, bad := range map[string]string{
				"unknown type":        `[{"type":"account_information"}]`,
				"schema broken":       `[{"type":"payment_initiation","actions":["steal"],"instructedAmount":{"currency":"EUR","amount":"1"}}]`,
				"not JSON":            `[{"type":`,
				"not an array":        `{"type":"payment_initiation"}`,
				"object without type": `[{"actions":["initiate"]}]`,
			} {
				res, err := http.Get(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("authorization_details", bad)))
				if err != nil {
					t.Fatal(err)
				}
				if body := readAll(t, res); res.StatusCode != 400 || !strings.Contains(body, "invalid_authorization_details") {
					t.Errorf("%s: %d %.300s", name, res.StatusCode, body)
				}
			}
		})
	}
}
