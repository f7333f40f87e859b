package e2e

import (
	"context"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// TestRefreshIDToken: a refresh answers a new ID token when the refreshed
// scopes include openid and the client has not turned it off
// (id_token_on_refresh, default true); with it off a refresh is a pure
// access-token renewal. A client declaring id_token_signed_response_alg
// ES256 gets ES256 ID tokens, which go-oidc verifies against the JWKS.
func TestRefreshIDToken(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", adaEmail, adaPW)
			m := d.discover(t, "default")
			ctx := context.Background()
			r := d.rp(t, "default")
			id, secret := r.conf.ClientID, r.conf.ClientSecret
			api := d.platform(t)
			var c map[string]any
			api.must(200, "GET", "/api/v1/tenants/default/clients/"+id, nil).json(t, &c)
			if c["id_token_on_refresh"] != true || c["id_token_signed_response_alg"] != "RS256" {
				t.Fatalf("defaults: id_token_on_refresh %v, alg %v; want true, RS256", c["id_token_on_refresh"], c["id_token_signed_response_alg"])
			}
			refresh := func(rt string, scope ...string) oauthResp {
				t.Helper()
				res := postForm(t, m.Token, refreshForm(rt, scope...), id, secret)
				if res.Status != 200 || res.str("access_token") == "" || res.str("refresh_token") == "" {
					t.Fatalf("refresh: %d %s", res.Status, res.Raw)
				}
				return res
			}
			verify := func(v *gooidc.IDTokenVerifier, raw, alg string) {
				t.Helper()
				if h, _, _ := jwtParts(t, raw); h["alg"] != alg {
					t.Errorf("ID token alg %v, want %s", h["alg"], alg)
				}
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Errorf("ID token from a refresh does not verify: %v", err)
				}
			}

			tok := r.tokens(adaEmail, adaPW)
			// An ID token is no access token: it has no jti or client_id.
			if ui := bearerGet(t, m.UserInfo, tok.Extra("id_token").(string)); ui.Status != 401 {
				t.Errorf("ID token as a bearer token at userinfo: %d %s", ui.Status, ui.Raw)
			}
			if in := introspect(t, m, tok.Extra("id_token").(string), id, secret); in.Status != 200 || active(in) {
				t.Errorf("ID token at introspection: %d %s", in.Status, in.Raw)
			}
			res := refresh(tok.RefreshToken)
			verify(r.verifier, res.str("id_token"), "RS256")
			// Narrowed without openid: no ID token.
			res = refresh(res.str("refresh_token"), "profile")
			if res.str("id_token") != "" {
				t.Errorf("refresh without openid answered an ID token")
			}

			api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+id, map[string]any{
				"id_token_on_refresh": false, "id_token_signed_response_alg": "ES256"})
			res = refresh(res.str("refresh_token"))
			if res.str("id_token") != "" {
				t.Errorf("refresh with id_token_on_refresh false answered an ID token")
			}
			if ui := bearerGet(t, m.UserInfo, res.str("access_token")); ui.Status != 200 {
				t.Errorf("userinfo with the renewed access token: %d %s", ui.Status, ui.Raw)
			}
			es := r.provider.Verifier(&gooidc.Config{ClientID: id, SupportedSigningAlgs: []string{gooidc.ES256}})
			tok = r.tokens(adaEmail, adaPW)
			verify(es, tok.Extra("id_token").(string), "ES256")

			api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+id, map[string]any{"id_token_on_refresh": true})
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			next, err := r.conf.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh through x/oauth2: %v", err)
			}
			raw, _ := next.Extra("id_token").(string)
			verify(es, raw, "ES256")
		})
	}
}
