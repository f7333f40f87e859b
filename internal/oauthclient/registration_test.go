package oauthclient_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func regCode(err error) string {
	var re *oauthclient.RegistrationError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

// TestRegisterSpendsTokenOnlyOnSuccess: an initial access token good for
// one registration survives refused metadata, is spent by the first
// accepted one, and is refused once expired.
func TestRegisterSpendsTokenOnlyOnSuccess(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	c := newClock()
	svc := newService(s, c.Now)
	tn := mkTenant(t, s, "reg")
	tok, _, err := svc.CreateRegistrationToken(t.Context(), admin, tn, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pol := oauthclient.RegistrationPolicy{GrantTypes: []string{oauthclient.GrantAuthorizationCode, oauthclient.GrantCIBA}}
	bad := oauthclient.Metadata{RedirectURIs: []string{"javascript:alert(1)"}}
	if _, err := svc.Register(t.Context(), admin, tn, bad, nil, pol, tok); regCode(err) != "invalid_redirect_uri" {
		t.Fatalf("bad redirect: %v", err)
	}
	good := oauthclient.Metadata{RedirectURIs: []string{"https://app.example/cb"}, ClientName: "App",
		GrantTypes: []string{oauthclient.GrantAuthorizationCode, oauthclient.GrantCIBA}, BackchannelTokenDeliveryMode: "poll"}
	reg, err := svc.Register(t.Context(), admin, tn, good, nil, pol, tok)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if !reg.Client.ThirdParty || reg.Secret == "" || !strings.HasPrefix(reg.RegistrationToken, oauthclient.RegistrationTokenPrefix) {
		t.Errorf("registered: %+v", reg)
	}
	if _, err := svc.Register(t.Context(), admin, tn, good, nil, pol, tok); !errors.Is(err, oauthclient.ErrRegistrationToken) {
		t.Errorf("second use: %v", err)
	}
	cl, md, err := svc.Registration(t.Context(), tn, reg.Client.ID, reg.RegistrationToken)
	if err != nil || cl.ID != reg.Client.ID || md.BackchannelTokenDeliveryMode != "poll" || cl.BackchannelTokenDelivery != "poll" {
		t.Errorf("Registration: %v %+v", err, md)
	}
	if _, _, err := svc.Registration(t.Context(), tn, reg.Client.ID, reg.RegistrationToken+"x"); !errors.Is(err, oauthclient.ErrRegistrationToken) {
		t.Errorf("wrong registration token: %v", err)
	}
	exp, _, err := svc.CreateRegistrationToken(t.Context(), admin, tn, 5, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.t = c.t.Add(2 * time.Minute)
	c.mu.Unlock()
	if _, err := svc.Register(t.Context(), admin, tn, good, nil, pol, exp); !errors.Is(err, oauthclient.ErrRegistrationToken) {
		t.Errorf("expired token: %v", err)
	}
	for _, c := range []struct{ uses, secs int }{{0, 600}, {1001, 600}, {1, 59}, {1, 91 * 86400}} {
		var ve *valid.Error
		if _, _, err := svc.CreateRegistrationToken(t.Context(), admin, tn, c.uses, time.Duration(c.secs)*time.Second); !errors.As(err, &ve) {
			t.Errorf("CreateRegistrationToken(%d, %ds) = %v, want a validation error", c.uses, c.secs, err)
		}
	}
}

// TestRegistrationPolicy: grants, schemes and the required method.
func TestRegistrationPolicy(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	svc := newService(s, newClock().Now)
	tn := mkTenant(t, s, "pol")
	pol := oauthclient.RegistrationPolicy{GrantTypes: []string{"authorization_code", "client_credentials"},
		RedirectURISchemes: []string{"https"}, TokenEndpointAuthMethod: "client_secret_post"}
	for name, c := range map[string]struct {
		md   oauthclient.Metadata
		code string
	}{
		"loopback http outside the schemes": {oauthclient.Metadata{RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: "client_secret_post"}, "invalid_redirect_uri"},
		"refresh_token outside the grants":  {oauthclient.Metadata{RedirectURIs: []string{"https://a.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "client_secret_post"}, "invalid_client_metadata"},
		"another auth method":               {oauthclient.Metadata{RedirectURIs: []string{"https://a.example/cb"}}, "invalid_client_metadata"},
		"ping to http":                      {oauthclient.Metadata{RedirectURIs: []string{"https://a.example/cb"}, TokenEndpointAuthMethod: "client_secret_post", BackchannelTokenDeliveryMode: "ping", BackchannelClientNotificationEndpoint: "http://a.example/n"}, "invalid_client_metadata"},
	} {
		if _, err := svc.Register(t.Context(), admin, tn, c.md, nil, pol, ""); regCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	ok := oauthclient.Metadata{RedirectURIs: []string{"https://a.example/cb"}, TokenEndpointAuthMethod: "client_secret_post",
		GrantTypes: []string{"authorization_code", "client_credentials"}}
	if _, err := svc.Register(t.Context(), admin, tn, ok, nil, pol, ""); err != nil {
		t.Errorf("within the policy: %v", err)
	}
}

// TestSoftwareStatement: trusted issuer and key, expiry, and the claims
// without the JWT's own.
func TestSoftwareStatement(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1"}}})
	issuers := []oauthclient.TrustedIssuer{{Issuer: "https://sw.example", JWKS: set}}
	now := time.Now()
	sign := func(key *ecdsa.PrivateKey, iss string, exp time.Time) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		raw, _ := jwt.Signed(s).Claims(map[string]any{"iss": iss, "exp": exp.Unix(), "software_id": "x", "client_name": "X"}).Serialize()
		return raw
	}
	claims, err := oauthclient.VerifySoftwareStatement(sign(k, "https://sw.example", now.Add(time.Hour)), issuers, now)
	if err != nil || claims["software_id"] != "x" || claims["iss"] != nil || claims["exp"] != nil {
		t.Fatalf("valid statement: %v %v", claims, err)
	}
	for name, c := range map[string]struct{ raw, code string }{
		"other key":       {sign(other, "https://sw.example", now.Add(time.Hour)), "unapproved_software_statement"},
		"other issuer":    {sign(k, "https://evil.example", now.Add(time.Hour)), "unapproved_software_statement"},
		"expired":         {sign(k, "https://sw.example", now.Add(-time.Hour)), "invalid_software_statement"},
		"not a JWT":       {"a.b.c", "invalid_software_statement"},
		"unsigned (none)": {"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL3N3LmV4YW1wbGUifQ.", "invalid_software_statement"},
	} {
		if _, err := oauthclient.VerifySoftwareStatement(c.raw, issuers, now); regCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
}

// TestMetadataDocuments: which URLs are client ID metadata document URLs,
// and what a document may say.
func TestMetadataDocuments(t *testing.T) {
	for u, want := range map[string]bool{
		"https://app.example/client.json": true, "https://app.example/": false, "https://app.example": false,
		"http://app.example/c.json": false, "https://u:p@app.example/c.json": false, "https://app.example/c.json#f": false,
		"https://app.example/a/../c.json": false, "https://app.example/" + strings.Repeat("a", 1000): false,
	} {
		if got := oauthclient.IsMetadataURL(u); got != want {
			t.Errorf("IsMetadataURL(%q) = %v", u, got)
		}
	}
	id := "https://app.example/client.json"
	doc := func(extra string) []byte {
		return []byte(`{"client_id":"` + id + `","redirect_uris":["https://app.example/cb"]` + extra + `}`)
	}
	c, err := oauthclient.MetadataDocumentClient("t1", id, doc(""))
	if err != nil || !c.Public || !c.ThirdParty || c.ID != id || c.Name != "app.example" || c.IDTokenAlg != "RS256" {
		t.Fatalf("valid document: %+v %v", c, err)
	}
	// The document's ID token algorithm is the client's.
	for _, alg := range []string{"ES256", "EdDSA"} {
		c, err := oauthclient.MetadataDocumentClient("t1", id, doc(`,"id_token_signed_response_alg":"`+alg+`"`))
		if err != nil {
			t.Errorf("document declaring %s: %v", alg, err)
		} else if c.IDTokenAlg != alg {
			t.Errorf("document declaring %s: the client's alg is %q", alg, c.IDTokenAlg)
		}
	}
	for name, d := range map[string][]byte{
		"unknown alg":     doc(`,"id_token_signed_response_alg":"HS256"`),
		"other client_id": []byte(`{"client_id":"https://evil.example/c.json","redirect_uris":["https://app.example/cb"]}`),
		"secret":          doc(`,"client_secret":"s"`),
		"basic":           doc(`,"token_endpoint_auth_method":"client_secret_basic"`),
		"jwks_uri":        doc(`,"jwks_uri":"https://app.example/jwks"`),
		"device grant":    doc(`,"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]`),
		"array":           []byte(`[]`),
		"no redirect":     []byte(`{"client_id":"` + id + `"}`),
	} {
		var ve *valid.Error
		if _, err := oauthclient.MetadataDocumentClient("t1", id, d); !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
}

// TestOAuthSettingsCheck: settings.oauth is validated.
func TestOAuthSettingsCheck(t *testing.T) {
	for name, o := range map[string]oauthclient.OAuthSettings{
		"mode":   {Registration: "sometimes"},
		"grant":  {RegistrationPolicy: oauthclient.RegistrationPolicy{GrantTypes: []string{"password"}}},
		"scheme": {RegistrationPolicy: oauthclient.RegistrationPolicy{RedirectURISchemes: []string{"javascript"}}},
		"method": {RegistrationPolicy: oauthclient.RegistrationPolicy{TokenEndpointAuthMethod: "client_secret_magic"}},
		"issuer": {SoftwareStatementIssuers: []oauthclient.TrustedIssuer{{Issuer: "", JWKS: json.RawMessage(`{"keys":[]}`)}}},
	} {
		var c valid.Collector
		if o.Check(&c, "settings.oauth"); c.Err() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var c valid.Collector
	if (oauthclient.OAuthSettings{}).Check(&c, "settings.oauth"); c.Err() != nil {
		t.Errorf("defaults refused: %v", c.Err())
	}
	if (oauthclient.OAuthSettings{}).Mode() != oauthclient.RegistrationInitialToken {
		t.Errorf("default mode")
	}
}
