package e2e

import (
	"context"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// TestRegisteredClientDeclaresES256: a client that registers itself (RFC
// 7591) declaring id_token_signed_response_alg ES256 gets ES256 ID tokens
// at the code exchange and on every refresh, which go-oidc verifies
// against the tenant's JWKS allowing ES256 only; one that declares
// nothing gets RS256 (the default for compatibility).
func TestRegisteredClientDeclaresES256(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", adaEmail, adaPW)
			api := d.platform(t)
			m := d.discover(t, "default")
			redirect := freeRedirect(t, "/cb")
			for _, declared := range []string{"ES256", ""} {
				want := declared
				if want == "" {
					want = "RS256"
				}
				md := map[string]any{"client_name": "Declares " + want, "redirect_uris": []string{redirect},
					"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid profile email offline_access"}
				if declared != "" {
					md["id_token_signed_response_alg"] = declared
				}
				var out map[string]any
				(&client{t: t, base: d.base, token: regToken(t, api, 1, 600)}).must(201, "POST", "/t/default/register", md).json(t, &out)
				id, _ := out["client_id"].(string)
				secret, _ := out["client_secret"].(string)
				var c map[string]any
				api.must(200, "GET", "/api/v1/tenants/default/clients/"+id, nil).json(t, &c)
				if c["id_token_signed_response_alg"] != want {
					t.Fatalf("registered declaring %q: the client's alg is %v, want %s", declared, c["id_token_signed_response_alg"], want)
				}
				r := rpFor(t, d.base, "default", id, secret, redirect)
				r.verifier = r.provider.Verifier(&gooidc.Config{ClientID: id, SupportedSigningAlgs: []string{want}})
				r.conf.Scopes = append(r.conf.Scopes, gooidc.ScopeOfflineAccess)
				tok, _ := r.consentedTokens(adaEmail, adaPW) // verified with want only
				rt := tok.RefreshToken
				for i := range 2 {
					res := postForm(t, m.Token, refreshForm(rt), id, secret)
					raw := res.str("id_token")
					if res.Status != 200 || raw == "" {
						t.Fatalf("refresh %d: %d %s", i, res.Status, res.Raw)
					}
					if h, _, _ := jwtParts(t, raw); h["alg"] != want {
						t.Errorf("refresh %d: ID token alg %v, want %s", i, h["alg"], want)
					}
					if _, err := r.verifier.Verify(context.Background(), raw); err != nil {
						t.Errorf("refresh %d: the ID token does not verify with %s: %v", i, want, err)
					}
					rt = res.str("refresh_token")
				}
			}
		})
	}
}
