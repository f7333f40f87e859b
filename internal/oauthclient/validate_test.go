package oauthclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// base is a valid confidential web client; cases change one thing.
func base() oauthclient.NewClient {
	return oauthclient.NewClient{Name: "Web app", RedirectURIs: []string{"https://app.example.com/cb"}}
}

const publicJWKS = `{"keys":[{"kty":"EC","crv":"P-256","use":"sig","kid":"k1",` +
	`"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

func uris(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// validationCases is every registration rule, each case able to fail: a
// rule that stops holding turns a refusal into a success or the reverse.
var validationCases = []struct {
	name  string
	edit  func(*oauthclient.NewClient)
	field string // "" when the client is accepted
	code  string
}{
	// Accepted.
	{"confidential web client", func(*oauthclient.NewClient) {}, "", ""},
	{"loopback 127.0.0.1 any port over http", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"http://127.0.0.1:51234/cb", "http://127.0.0.1/cb", "http://127.0.0.1:1/x?y=z"}
	}, "", ""},
	{"loopback [::1] and localhost over http", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"http://[::1]:8080/cb", "http://localhost:3000/cb"}
	}, "", ""},
	{"private-use scheme for native apps", func(c *oauthclient.NewClient) {
		c.Public, c.RedirectURIs = true, []string{"com.example.app:/oauth2redirect", "com.example.app://callback"}
	}, "", ""},
	{"allowed origins and a resource server", func(c *oauthclient.NewClient) {
		c.AllowedOrigins = []string{"https://spa.example.com", "https://spa.example.com:8443", "http://127.0.0.1:5173", "http://[::1]:3000"}
		c.Introspection = oauthclient.IntrospectAudience
	}, "", ""},
	{"origin with a path", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"https://spa.example.com/"} }, "allowed_origins", "invalid"},
	{"origin with capitals", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"https://SPA.example.com"} }, "allowed_origins", "invalid"},
	{"origin with the default port", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"https://spa.example.com:443"} }, "allowed_origins", "invalid"},
	{"origin wildcard", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"*"} }, "allowed_origins", "invalid"},
	{"origin subdomain wildcard", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"https://*.example.com"} }, "allowed_origins", "invalid"},
	{"origin http off loopback", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"http://spa.example.com"} }, "allowed_origins", "insecure"},
	{"origin null", func(c *oauthclient.NewClient) { c.AllowedOrigins = []string{"null"} }, "allowed_origins", "invalid"},
	{"origin twice", func(c *oauthclient.NewClient) {
		c.AllowedOrigins = []string{"https://spa.example.com", "https://spa.example.com"}
	}, "allowed_origins", "duplicate"},
	{"unknown introspection setting", func(c *oauthclient.NewClient) { c.Introspection = "all" }, "introspection", "invalid"},
	{"public resource server", func(c *oauthclient.NewClient) {
		c.Public, c.Introspection = true, oauthclient.IntrospectAudience
	}, "introspection", "not_allowed"},
	{"https with a query", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://app.example.com/cb?tenant=a"} }, "", ""},
	{"20 redirect URIs", func(c *oauthclient.NewClient) {
		c.RedirectURIs = uris(20, func(i int) string { return fmt.Sprintf("https://app.example.com/cb%d", i) })
	}, "", ""},
	{"redirect URI of 2000 characters", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"https://app.example.com/" + strings.Repeat("a", 2000-len("https://app.example.com/"))}
	}, "", ""},
	{"client_credentials alone needs no redirect URI", func(c *oauthclient.NewClient) {
		c.GrantTypes, c.RedirectURIs = []string{"client_credentials"}, nil
	}, "", ""},
	{"public device client needs no redirect URI", func(c *oauthclient.NewClient) {
		c.Public, c.RedirectURIs = true, nil
		c.GrantTypes = []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}
	}, "", ""},
	{"private_key_jwt with jwks", func(c *oauthclient.NewClient) {
		c.TokenEndpointAuthMethod, c.JWKS = "private_key_jwt", json.RawMessage(publicJWKS)
	}, "", ""},
	{"client_secret_post", func(c *oauthclient.NewClient) { c.TokenEndpointAuthMethod = "client_secret_post" }, "", ""},
	{"public with none named", func(c *oauthclient.NewClient) { c.Public, c.TokenEndpointAuthMethod = true, "none" }, "", ""},
	{"every algorithm", func(c *oauthclient.NewClient) {
		c.IDTokenSignedResponseAlg, c.AccessTokenSignedResponseAlg = "EdDSA", "RS256"
	}, "", ""},
	{"lowest TTLs", func(c *oauthclient.NewClient) { c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL = 60, 60, 3600 }, "", ""},
	{"highest TTLs", func(c *oauthclient.NewClient) {
		c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL = 86400, 86400, 90*86400
	}, "", ""},
	{"post-logout and backchannel URIs", func(c *oauthclient.NewClient) {
		c.PostLogoutRedirectURIs = []string{"https://app.example.com/bye", "http://127.0.0.1:9/bye"}
		c.BackchannelLogoutURI = "https://app.example.com/backchannel"
	}, "", ""},
	{"loopback backchannel", func(c *oauthclient.NewClient) { c.BackchannelLogoutURI = "http://localhost:8080/bc" }, "", ""},
	{"scopes and claim mappings", func(c *oauthclient.NewClient) {
		c.Scopes = []string{"openid", "profile", "api:read", "offline_access"}
		c.ClaimMappings = map[string]string{"department": "department", "https://example.com/role": "role"}
	}, "", ""},

	// Name.
	{"no name", func(c *oauthclient.NewClient) { c.Name = "" }, "name", "required"},
	{"name of 101 characters", func(c *oauthclient.NewClient) { c.Name = strings.Repeat("é", 101) }, "name", "too_long"},
	{"name with a control character", func(c *oauthclient.NewClient) { c.Name = "Web\napp" }, "name", "invalid"},

	// Redirect URIs.
	{"http on a public host", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"http://example.com/cb"} }, "redirect_uris", "insecure"},
	{"http on a host that starts like loopback", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"http://127.0.0.1.evil.example/cb"}
	}, "redirect_uris", "insecure"},
	{"http on localhost's subdomain", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"http://localhost.evil.example/cb"}
	}, "redirect_uris", "insecure"},
	{"fragment", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://app.example.com/cb#x"} }, "redirect_uris", "fragment"},
	{"empty fragment", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://app.example.com/cb#"} }, "redirect_uris", "fragment"},
	{"javascript:", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uris", "scheme"},
	{"JavaScript: in capitals", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"JavaScript:alert(1)"} }, "redirect_uris", "scheme"},
	{"javascript: with an escaped newline", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"javascript://%0aalert(1)"} }, "redirect_uris", "invalid"},
	{"data:", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"data:text/html,hi"} }, "redirect_uris", "scheme"},
	{"file:", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"file:///etc/passwd"} }, "redirect_uris", "scheme"},
	{"custom scheme without a dot", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"myapp:/cb"} }, "redirect_uris", "scheme"},
	{"private-use scheme without a path", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"com.example.app:cb"} }, "redirect_uris", "invalid"},
	{"relative", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"/cb"} }, "redirect_uris", "invalid"},
	{"no scheme", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"app.example.com/cb"} }, "redirect_uris", "invalid"},
	{"https without a host", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https:///cb"} }, "redirect_uris", "invalid"},
	{"credentials", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://u:p@app.example.com/cb"} }, "redirect_uris", "invalid"},
	{"wildcard", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://*.example.com/cb"} }, "redirect_uris", "invalid"},
	{"space", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://app.example.com/c b"} }, "redirect_uris", "invalid"},
	{"non-ASCII", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{"https://app.example.com/café"} }, "redirect_uris", "invalid"},
	{"empty URI", func(c *oauthclient.NewClient) { c.RedirectURIs = []string{""} }, "redirect_uris", "invalid"},
	{"21 redirect URIs", func(c *oauthclient.NewClient) {
		c.RedirectURIs = uris(21, func(i int) string { return fmt.Sprintf("https://app.example.com/cb%d", i) })
	}, "redirect_uris", "too_many"},
	{"redirect URI of 2001 characters", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"https://app.example.com/" + strings.Repeat("a", 2001-len("https://app.example.com/"))}
	}, "redirect_uris", "too_long"},
	{"duplicate redirect URI", func(c *oauthclient.NewClient) {
		c.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com/cb"}
	}, "redirect_uris", "duplicate"},
	{"authorization_code without redirect URIs", func(c *oauthclient.NewClient) { c.RedirectURIs = nil }, "redirect_uris", "required"},
	{"authorization_code named, no redirect URIs", func(c *oauthclient.NewClient) {
		c.GrantTypes, c.RedirectURIs = []string{"authorization_code", "client_credentials"}, []string{}
	}, "redirect_uris", "required"},

	// Post-logout and back-channel URIs follow the same rules.
	{"post-logout javascript:", func(c *oauthclient.NewClient) {
		c.PostLogoutRedirectURIs = []string{"javascript:alert(1)"}
	}, "post_logout_redirect_uris", "scheme"},
	{"post-logout fragment", func(c *oauthclient.NewClient) {
		c.PostLogoutRedirectURIs = []string{"https://app.example.com/#bye"}
	}, "post_logout_redirect_uris", "fragment"},
	{"post-logout http", func(c *oauthclient.NewClient) {
		c.PostLogoutRedirectURIs = []string{"http://example.com/bye"}
	}, "post_logout_redirect_uris", "insecure"},
	{"21 post-logout URIs", func(c *oauthclient.NewClient) {
		c.PostLogoutRedirectURIs = uris(21, func(i int) string { return fmt.Sprintf("https://app.example.com/bye%d", i) })
	}, "post_logout_redirect_uris", "too_many"},
	{"backchannel over http", func(c *oauthclient.NewClient) { c.BackchannelLogoutURI = "http://example.com/bc" }, "backchannel_logout_uri", "insecure"},
	{"backchannel private-use scheme", func(c *oauthclient.NewClient) {
		c.BackchannelLogoutURI = "com.example.app:/bc"
	}, "backchannel_logout_uri", "scheme"},
	{"backchannel fragment", func(c *oauthclient.NewClient) {
		c.BackchannelLogoutURI = "https://app.example.com/bc#x"
	}, "backchannel_logout_uri", "fragment"},

	// Grants.
	{"unknown grant", func(c *oauthclient.NewClient) { c.GrantTypes = []string{"password"} }, "grant_types", "invalid"},
	{"implicit grant", func(c *oauthclient.NewClient) { c.GrantTypes = []string{"implicit"} }, "grant_types", "invalid"},
	{"grant twice", func(c *oauthclient.NewClient) {
		c.GrantTypes = []string{"authorization_code", "authorization_code"}
	}, "grant_types", "duplicate"},
	{"public client_credentials", func(c *oauthclient.NewClient) {
		c.Public, c.GrantTypes, c.RedirectURIs = true, []string{"client_credentials"}, nil
	}, "grant_types", "not_allowed"},
	{"refresh_token alone", func(c *oauthclient.NewClient) { c.GrantTypes = []string{"refresh_token"} }, "grant_types", "invalid"},

	// Token endpoint authentication.
	{"confidential with none", func(c *oauthclient.NewClient) { c.TokenEndpointAuthMethod = "none" }, "token_endpoint_auth_method", "invalid"},
	{"public with a secret method", func(c *oauthclient.NewClient) {
		c.Public, c.TokenEndpointAuthMethod = true, "client_secret_basic"
	}, "token_endpoint_auth_method", "invalid"},
	{"public with private_key_jwt", func(c *oauthclient.NewClient) {
		c.Public, c.TokenEndpointAuthMethod, c.JWKS = true, "private_key_jwt", json.RawMessage(publicJWKS)
	}, "token_endpoint_auth_method", "invalid"},
	{"client_secret_jwt", func(c *oauthclient.NewClient) { c.TokenEndpointAuthMethod = "client_secret_jwt" }, "token_endpoint_auth_method", "invalid"},
	{"private_key_jwt without jwks", func(c *oauthclient.NewClient) { c.TokenEndpointAuthMethod = "private_key_jwt" }, "jwks", "required"},
	{"private_key_jwt with jwks null", func(c *oauthclient.NewClient) {
		c.TokenEndpointAuthMethod, c.JWKS = "private_key_jwt", json.RawMessage("null")
	}, "jwks", "required"},
	{"jwks not a key set", func(c *oauthclient.NewClient) { c.JWKS = json.RawMessage(`[1]`) }, "jwks", "invalid"},
	{"jwks without keys", func(c *oauthclient.NewClient) { c.JWKS = json.RawMessage(`{"keys":[]}`) }, "jwks", "invalid"},
	{"jwks with a symmetric key", func(c *oauthclient.NewClient) {
		c.JWKS = json.RawMessage(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
	}, "jwks", "invalid"},
	{"jwks with a private key", func(c *oauthclient.NewClient) {
		c.JWKS = json.RawMessage(strings.Replace(publicJWKS, `"kid"`, `"d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid"`, 1))
	}, "jwks", "private_key"},
	{"jwks for encryption", func(c *oauthclient.NewClient) {
		c.JWKS = json.RawMessage(strings.Replace(publicJWKS, `"use":"sig"`, `"use":"enc"`, 1))
	}, "jwks", "invalid"},
	{"jwks too large", func(c *oauthclient.NewClient) {
		c.JWKS = json.RawMessage(`{"keys":[{"kty":"RSA","n":"` + strings.Repeat("A", 40<<10) + `","e":"AQAB"}]}`)
	}, "jwks", "too_long"},

	// Algorithms.
	{"HS256 ID tokens", func(c *oauthclient.NewClient) { c.IDTokenSignedResponseAlg = "HS256" }, "id_token_signed_response_alg", "invalid"},
	{"alg none", func(c *oauthclient.NewClient) { c.IDTokenSignedResponseAlg = "none" }, "id_token_signed_response_alg", "invalid"},
	{"RS512 access tokens", func(c *oauthclient.NewClient) { c.AccessTokenSignedResponseAlg = "RS512" }, "access_token_signed_response_alg", "invalid"},

	// Lifetimes.
	{"access TTL 59 s", func(c *oauthclient.NewClient) { c.AccessTokenTTL = 59 }, "access_token_ttl", "out_of_range"},
	{"access TTL over 24 h", func(c *oauthclient.NewClient) { c.AccessTokenTTL = 86401 }, "access_token_ttl", "out_of_range"},
	{"access TTL negative", func(c *oauthclient.NewClient) { c.AccessTokenTTL = -1 }, "access_token_ttl", "out_of_range"},
	{"access TTL that would overflow", func(c *oauthclient.NewClient) { c.AccessTokenTTL = math.MaxInt64 }, "access_token_ttl", "out_of_range"},
	{"ID TTL 30 s", func(c *oauthclient.NewClient) { c.IDTokenTTL = 30 }, "id_token_ttl", "out_of_range"},
	{"ID TTL over 24 h", func(c *oauthclient.NewClient) { c.IDTokenTTL = 86401 }, "id_token_ttl", "out_of_range"},
	{"refresh TTL under 1 h", func(c *oauthclient.NewClient) { c.RefreshTokenTTL = 3599 }, "refresh_token_ttl", "out_of_range"},
	{"refresh TTL over 90 d", func(c *oauthclient.NewClient) { c.RefreshTokenTTL = 90*86400 + 1 }, "refresh_token_ttl", "out_of_range"},

	// Scopes and claim mappings.
	{"scope with a space", func(c *oauthclient.NewClient) { c.Scopes = []string{"openid profile"} }, "scopes", "invalid"},
	{"empty scope", func(c *oauthclient.NewClient) { c.Scopes = []string{""} }, "scopes", "invalid"},
	{"scope twice", func(c *oauthclient.NewClient) { c.Scopes = []string{"openid", "openid"} }, "scopes", "duplicate"},
	{"101 scopes", func(c *oauthclient.NewClient) {
		c.Scopes = uris(101, func(i int) string { return fmt.Sprintf("s%d", i) })
	}, "scopes", "too_many"},
	{"mapping sub", func(c *oauthclient.NewClient) { c.ClaimMappings = map[string]string{"sub": "employee_id"} }, "claim_mappings", "reserved"},
	{"mapping iss", func(c *oauthclient.NewClient) { c.ClaimMappings = map[string]string{"iss": "x"} }, "claim_mappings", "reserved"},
	{"mapping to a bad attribute", func(c *oauthclient.NewClient) {
		c.ClaimMappings = map[string]string{"dept": "a b"}
	}, "claim_mappings", "invalid"},
	{"mapping a bad claim name", func(c *oauthclient.NewClient) {
		c.ClaimMappings = map[string]string{"9lives": "cat"}
	}, "claim_mappings", "invalid"},
}

func TestValidation(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, s *sqlstore.DB) {
		svc := newService(s, newClock().Now)
		tn := mkTenant(t, s, "acme")
		for _, tc := range validationCases {
			in := base()
			tc.edit(&in)
			c, secret, err := svc.CreateClient(t.Context(), admin, tn, in)
			if tc.field == "" {
				if err != nil {
					t.Errorf("%s: %v, want accepted", tc.name, err)
				} else if _, err := svc.GetClient(t.Context(), tn, c.ID); err != nil {
					t.Errorf("%s: accepted but not stored: %v", tc.name, err)
				}
				continue
			}
			var verr *valid.Error
			if !errors.As(err, &verr) {
				t.Errorf("%s: %v (client %v, secret set %v), want %s/%s", tc.name, err, c, secret != "", tc.field, tc.code)
				continue
			}
			if !slices.ContainsFunc(verr.Fields, func(f valid.FieldError) bool { return f.Field == tc.field && f.Code == tc.code }) {
				t.Errorf("%s: %v, want %s/%s", tc.name, verr.Fields, tc.field, tc.code)
			}
			for _, f := range verr.Fields {
				if strings.Contains(f.Message, "evil") || strings.Contains(f.Message, "alert") {
					t.Errorf("%s: message echoes the input: %q", tc.name, f.Message)
				}
			}
		}
		// Refused clients were not stored.
		cs, err := svc.ListClients(t.Context(), tn, store.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		accepted := 0
		for _, tc := range validationCases {
			if tc.field == "" {
				accepted++
			}
		}
		if len(cs) != accepted {
			t.Errorf("%d clients stored, want the %d accepted", len(cs), accepted)
		}
	})
}

// TestDefaults: what a client gets when it names nothing.
func TestDefaults(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, s *sqlstore.DB) {
		svc := newService(s, newClock().Now)
		tn := mkTenant(t, s, "acme")
		c, secret, err := svc.CreateClient(t.Context(), admin, tn, base())
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.GetClient(t.Context(), tn, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*store.Client{c, got} {
			if !slices.Equal(x.GrantTypes, []string{"authorization_code", "refresh_token"}) ||
				x.AuthMethod != "client_secret_basic" || x.IDTokenAlg != "RS256" || x.AccessTokenAlg != "ES256" ||
				x.AccessTokenTTL != 15*time.Minute || x.IDTokenTTL != 15*time.Minute ||
				x.RefreshTokenTTL != 30*24*time.Hour || x.Public || x.ThirdParty || x.Version != 1 {
				t.Errorf("defaults: %+v", x)
			}
		}
		if !oauthclient.VerifySecret(got, secret) {
			t.Error("the stored client does not verify its secret")
		}
		if !strings.HasPrefix(secret, "gh_cs_") || len(secret) != len("gh_cs_")+43 {
			t.Errorf("secret %q is not gh_cs_ and 256 bits of base64url", secret[:8])
		}
		if u := c.ID; len(u) != 36 || u[14] != '7' {
			t.Errorf("client_id %q is not a UUIDv7", u)
		}

		// A public client gets none as its method and no secret.
		in := base()
		in.Public = true
		p, psecret, err := svc.CreateClient(t.Context(), admin, tn, in)
		if err != nil {
			t.Fatal(err)
		}
		if psecret != "" || p.SecretHash != nil || p.AuthMethod != "none" {
			t.Errorf("public client: secret %v, hash %v, method %q", psecret != "", p.SecretHash, p.AuthMethod)
		}
		// private_key_jwt: no secret either.
		in = base()
		in.TokenEndpointAuthMethod, in.JWKS = "private_key_jwt", json.RawMessage(publicJWKS)
		k, ksecret, err := svc.CreateClient(t.Context(), admin, tn, in)
		if err != nil {
			t.Fatal(err)
		}
		if ksecret != "" || k.SecretHash != nil {
			t.Errorf("private_key_jwt client has a secret")
		}
		// Two clients never share an id or a secret.
		c2, secret2, err := svc.CreateClient(t.Context(), admin, tn, base())
		if err != nil {
			t.Fatal(err)
		}
		if c2.ID == c.ID || secret2 == secret {
			t.Error("two clients share an id or a secret")
		}
	})
}
