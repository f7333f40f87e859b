package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// TestPrivateKeyJWT: a client registered with its public key authenticates
// with a signed assertion (RFC 7523); a replayed assertion and one signed
// by another key are refused with invalid_client.
func TestPrivateKeyJWT(t *testing.T) {
	n, _, api := setupOIDC(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}
	var c map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/clients", map[string]any{
		"name": "service", "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": "private_key_jwt", "jwks": map[string]any{"keys": []any{jwk}},
	}).json(t, &c)
	clientID := c["client_id"].(string)
	if _, ok := c["client_secret"]; ok {
		t.Fatal("a private_key_jwt client got a secret")
	}
	issuer := n.URL + "/t/default"
	assertion := func(k *rsa.PrivateKey) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": []string{issuer},
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": uuid.NewString()})
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	token := func(a string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		res, err := http.Post(issuer+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	a := assertion(key)
	if st, body := token(a); st != 200 || body["access_token"] == nil {
		t.Fatalf("private_key_jwt: %d %v", st, body)
	}
	if st, body := token(a); st != 401 || body["error"] != "invalid_client" {
		t.Fatalf("replayed assertion: %d %v", st, body)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if st, body := token(assertion(other)); st != 401 || body["error"] != "invalid_client" {
		t.Fatalf("assertion by another key: %d %v", st, body)
	}
}
