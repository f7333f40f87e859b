package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func init() {
	scenarios["client_credentials_dpop"] = scenario{name: "client_credentials_dpop", unit: "req", needs: needCC,
		setup: setupDPoPCC}
}

// setupDPoPCC is client_credentials with a DPoP proof (RFC 9449): every
// request carries a fresh ES256 proof by one key, so the server verifies a
// signature, remembers the jti and binds the token (cnf.jkt) on top of the
// plain grant. The proof is signed in the generator, whose CPU the report
// shows apart.
func setupDPoPCC(t *target) (Op, func(), error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: key.Public()}))
	if err != nil {
		return nil, nil, err
	}
	c := &http.Client{Transport: t.transport}
	tokenURL := t.tenantURL("/oauth/token")
	if t.tokenURL != "" {
		tokenURL = t.tokenURL
	}
	body := []byte("grant_type=client_credentials")
	return func(ctx context.Context) error {
		jti := make([]byte, 16)
		if _, err := rand.Read(jti); err != nil {
			return err
		}
		claims, _ := json.Marshal(map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": "POST",
			"htu": tokenURL, "iat": time.Now().Unix()})
		obj, err := signer.Sign(claims)
		if err != nil {
			return err
		}
		proof, err := obj.CompactSerialize()
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", proof)
		req.SetBasicAuth(url.QueryEscape(t.ccID), url.QueryEscape(t.ccSecret))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return tokenResponse(resp, false)
	}, func() {}, nil
}
