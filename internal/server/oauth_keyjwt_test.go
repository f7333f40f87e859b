package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertion signs a client assertion of clientID for aud with key (kid ""
// leaves the header without one).
func assertion(t *testing.T, key any, alg jose.SignatureAlgorithm, kid, clientID string, aud any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString()})
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPrivateKeyJWTAudiences: a private_key_jwt client authenticates with
// an assertion whose aud is the issuer, the token endpoint URL (what OIDC
// Core 9 and most client libraries send) or the PAR endpoint URL, alone;
// an aud naming more, a client_id naming another client, or a secret sent
// by a client registered for keys (and the reverse) is invalid_client. An
// assertion without kid is verified with the only key of its type. The
// introspection and revocation endpoints take assertions too, and the
// discovery document says so.
func TestPrivateKeyJWTAudiences(t *testing.T) {
	ta := newTestApp(t, backends[0])
	acme := ta.tenant("acme")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKey2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := func(keys ...jose.JSONWebKey) json.RawMessage {
		raw, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	svc, _ := ta.registered(acme.ID, oauthclient.NewClient{Name: "svc", RedirectURIs: []string{},
		GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "private_key_jwt",
		JWKS: set(jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "r1", Use: "sig"},
			jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "e1", Use: "sig"},
			jose.JSONWebKey{Key: &ecKey2.PublicKey, KeyID: "e2", Use: "sig"})})
	web, webSecret := ta.registered(acme.ID, oauthclient.NewClient{Name: "web", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}})
	spa, _ := ta.registered(acme.ID, oauthclient.NewClient{Name: "spa", Public: true})

	issuer := ta.Config.PublicURL + "/t/acme"
	tokenURL, parURL := issuer+"/oauth/token", issuer+"/par"
	token := func(a string, extra ...string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {jwtBearer}, "client_assertion": {a}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return ta.oauthCall("/t/acme/oauth/token", form, "", "")
	}
	for _, c := range []struct {
		name string
		a    string
		ok   bool
	}{
		{"aud the issuer", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, issuer), true},
		{"aud the token endpoint", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, tokenURL), true},
		{"aud the PAR endpoint", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, parURL), true},
		{"aud an array of the token endpoint", assertion(t, ecKey, jose.ES256, "e1", svc.ID, []string{tokenURL}), true},
		{"no kid, the only RSA key", assertion(t, rsaKey, jose.RS256, "", svc.ID, tokenURL), true},
		{"no kid, one of two EC keys", assertion(t, ecKey, jose.ES256, "", svc.ID, tokenURL), false},
		{"aud the issuer and another", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, []string{issuer, "https://rs.example"}), false},
		{"aud the token endpoint twice", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, []string{tokenURL, tokenURL}), false},
		{"aud another server", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, "https://other.example/token"), false},
		{"aud another tenant", assertion(t, rsaKey, jose.RS256, "r1", svc.ID, ta.Config.PublicURL+"/t/other"), false},
		{"kid of another key type", assertion(t, rsaKey, jose.RS256, "e1", svc.ID, tokenURL), false},
	} {
		st, body := token(c.a)
		if c.ok && (st != http.StatusOK || body["access_token"] == nil) {
			t.Errorf("%s: %d %v, want a token", c.name, st, body)
		}
		if !c.ok && (st != http.StatusUnauthorized || body["error"] != "invalid_client") {
			t.Errorf("%s: %d %v, want 401 invalid_client", c.name, st, body)
		}
	}
	// client_id, when sent, names the assertion's client (RFC 7521 4.2).
	if st, body := token(assertion(t, rsaKey, jose.RS256, "r1", svc.ID, issuer), "client_id", web.ID); st != http.StatusUnauthorized {
		t.Errorf("client_id of another client: %d %v", st, body)
	}
	if st, body := token(assertion(t, rsaKey, jose.RS256, "r1", svc.ID, tokenURL), "client_id", svc.ID); st != http.StatusOK {
		t.Errorf("client_id of the assertion's client: %d %v", st, body)
	}
	// The registered method is the only one: a secret does not stand in
	// for keys, nor an assertion with a secret, nor a secret for "none".
	cc := url.Values{"grant_type": {"client_credentials"}}
	if st, _ := ta.oauthCall("/t/acme/oauth/token", cc, svc.ID, webSecret); st != http.StatusUnauthorized {
		t.Errorf("key client with a secret: %d", st)
	}
	if st, _ := token(assertion(t, rsaKey, jose.RS256, "r1", svc.ID, tokenURL), "client_secret", webSecret); st != http.StatusUnauthorized {
		t.Errorf("assertion and a secret: %d", st)
	}
	if st, body := ta.oauthCall("/t/acme/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"},
		"redirect_uri": {appRedirect}}, spa.ID, webSecret); st != http.StatusUnauthorized {
		t.Errorf("public client with a secret: %d %v", st, body)
	}
	if st, body := ta.oauthCall("/t/acme/oauth/token", cc, web.ID, webSecret); st != http.StatusOK {
		t.Errorf("secret client with its secret: %d %v", st, body)
	}

	// Introspection and revocation take an assertion for the token endpoint.
	_, body := token(assertion(t, rsaKey, jose.RS256, "r1", svc.ID, tokenURL))
	at, _ := body["access_token"].(string)
	st, body := ta.oauthCall("/t/acme/oauth/introspect", url.Values{"token": {at}, "client_assertion_type": {jwtBearer},
		"client_assertion": {assertion(t, rsaKey, jose.RS256, "r1", svc.ID, tokenURL)}}, "", "")
	if st != http.StatusOK || body["active"] != true || body["client_id"] != svc.ID {
		t.Errorf("introspection with an assertion: %d %v", st, body)
	}
	if st, body := ta.oauthCall("/t/acme/revoke", url.Values{"token": {at}, "token_type_hint": {"access_token"},
		"client_assertion_type": {jwtBearer}, "client_assertion": {assertion(t, ecKey, jose.ES256, "e1", svc.ID, issuer)}},
		"", ""); st != http.StatusOK {
		t.Errorf("revocation with an assertion: %d %v", st, body)
	}
	var doc struct {
		Introspection []string `json:"introspection_endpoint_auth_methods_supported"`
		Revocation    []string `json:"revocation_endpoint_auth_methods_supported"`
	}
	if err := json.Unmarshal([]byte(ta.browser().get("/t/acme/.well-known/openid-configuration").body), &doc); err != nil ||
		!slices.Contains(doc.Introspection, "private_key_jwt") || !slices.Contains(doc.Revocation, "private_key_jwt") {
		t.Errorf("discovery: %+v %v", doc, err)
	}
}
