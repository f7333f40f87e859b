package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// assertionWindow bounds how long a client assertion's jti is remembered:
// assertions issued (iat) longer ago than this, or expired, are refused.
const assertionWindow = time.Hour

// assertionSkew is the clock difference allowed to a client's iat and exp.
const assertionSkew = time.Second

// assertionAlgs are the algorithms a client may sign its assertion with.
var assertionAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// VerifyClient authenticates the client of a token, introspection,
// revocation, device or PAR request, by the method the client registered:
// a client registered for private_key_jwt only with an assertion (RFC 7523,
// verified here for every grant, client_credentials included, each jti
// accepted once, decided in the database), a client registered for a
// secret only with its secret, a public client only by its client_id.
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	c, err := s.verifyClient(ctx, r)
	var oe *oidc.Error
	if errors.As(err, &oe) && oe.ErrorType == oidc.InvalidClient {
		// RFC 6749 5.2: a failed client authentication is a 401.
		return nil, op.NewStatusError(err, http.StatusUnauthorized)
	}
	return c, err
}

func (s *server) verifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	if c, done, err := s.verifyTLSClient(ctx, r); done { // mtls.go
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	if r.Data.ClientAssertionType == "" && r.Data.ClientAssertion == "" {
		// A secret authenticates only a client registered for one. The
		// client_credentials grant checks that in storage.authenticate (one
		// client read on the hot path); for the other endpoints the library
		// would let a public client ignore a secret, so it is checked here.
		if r.Data.ClientSecret != "" && r.Form.Get("grant_type") != string(oidc.GrantTypeClientCredentials) {
			c, err := s.p.storage.client(ctx, r.Data.ClientID)
			if err != nil || !usesSecret(c) {
				return nil, errClientAuth()
			}
		}
		return s.LegacyServer.VerifyClient(ctx, r)
	}
	if r.Data.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion || r.Data.ClientSecret != "" {
		return nil, errClientAuth()
	}
	c, claims, err := s.verifyAssertion(ctx, r.Data.ClientAssertion)
	if err != nil {
		return nil, err
	}
	if err := fapiAssertion(c, r.Data.ClientAssertion); err != nil { // fapi.go
		return nil, err
	}
	// RFC 7521 4.2: a client_id sent with the assertion names the same client.
	if r.Data.ClientID != "" && r.Data.ClientID != c.c.ID {
		return nil, errClientAuth()
	}
	n, err := s.p.store.OAuth().Throttle().Fail(ctx, tenantFrom(ctx).ID,
		fmt.Sprintf("jti:%s:%s", c.GetID(), claims.JWTID), s.p.now(), assertionWindow)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	if n > 1 {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion already used")
	}
	return c, nil
}

func errClientAuth() *oidc.Error {
	return oidc.ErrInvalidClient().WithDescription("client authentication failed")
}

// usesSecret: the client registered client_secret_basic or
// client_secret_post (either way of sending the secret is taken).
func usesSecret(c *client) bool {
	m := c.AuthMethod()
	return m == oidc.AuthMethodBasic || m == oidc.AuthMethodPost
}

// verifyAssertion checks a private_key_jwt client assertion (OIDC Core 9,
// RFC 7523 3): iss and sub are the client_id of a client registered for
// private_key_jwt; aud is one of this tenant's issuer, token endpoint URL
// or PAR endpoint URL, alone (a string, or an array of that one value: an
// assertion meant for several audiences could be replayed at any); exp is
// in the future, iat within assertionWindow, jti present; the signature is
// by a key of the client's registered set, chosen by kid or, without kid,
// the one key of the algorithm's type.
func (s *server) verifyAssertion(ctx context.Context, assertion string) (*client, *oidc.JWTTokenRequest, error) {
	bad := func(desc string) (*client, *oidc.JWTTokenRequest, error) {
		return nil, nil, oidc.ErrInvalidClient().WithDescription("client assertion invalid: %s", desc)
	}
	if len(assertion) > 8<<10 {
		return bad("too long")
	}
	var claims oidc.JWTTokenRequest
	payload, err := oidc.ParseToken(assertion, &claims)
	if err != nil {
		return bad("not a JWT")
	}
	var raw struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &raw) != nil {
		return bad("not a JWT")
	}
	issuer := s.p.issuer(ctx)
	switch aud, ok := singleAudience(raw.Aud); {
	case !ok:
		return bad("aud must be one value")
	case aud != issuer && aud != s.Endpoints().Token.Absolute(issuer) && aud != issuer+parPath:
		return bad("aud must be the issuer or the token endpoint URL")
	case claims.Issuer == "" || claims.Issuer != claims.Subject:
		return bad("iss and sub must be the client_id")
	case claims.JWTID == "":
		return bad("jti missing")
	}
	if oidc.CheckExpiration(&claims, assertionSkew) != nil || oidc.CheckIssuedAt(&claims, assertionWindow, assertionSkew) != nil {
		return bad("expired, or iat missing or out of range")
	}
	c, err := s.p.storage.client(ctx, claims.Issuer)
	if err != nil || c.AuthMethod() != oidc.AuthMethodPrivateKeyJWT {
		return nil, nil, errClientAuth()
	}
	if err := oidc.CheckSignature(ctx, assertion, payload, &claims, assertionAlgs, clientKeys{c}); err != nil {
		return nil, nil, errClientAuth()
	}
	return c, &claims, nil
}

// singleAudience answers the one audience of an aud claim: a string, or an
// array of exactly one string.
func singleAudience(raw json.RawMessage) (string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, one != ""
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) == 1 && many[0] != "" {
		return many[0], true
	}
	return "", false
}

// clientKeys verifies a signature with a client's registered keys.
type clientKeys struct{ c *client }

// VerifySignature picks the key by the header's kid; without one, the only
// key of the type the algorithm needs (RFC 7515 leaves kid optional). A
// key whose registered alg differs from the header's is not used.
func (k clientKeys) VerifySignature(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	var set jose.JSONWebKeySet
	if len(k.c.c.JWKS) == 0 || json.Unmarshal(k.c.c.JWKS, &set) != nil {
		return nil, errors.New("client has no keys")
	}
	h := jws.Signatures[0].Header
	kty := keyType(h.Algorithm)
	var found []jose.JSONWebKey
	for _, key := range set.Keys {
		if h.KeyID != "" && key.KeyID != h.KeyID || key.Algorithm != "" && key.Algorithm != h.Algorithm ||
			jwkType(key) != kty {
			continue
		}
		found = append(found, key)
	}
	if len(found) != 1 {
		return nil, errors.New("no single key matches the assertion")
	}
	return jws.Verify(found[0])
}

// keyType is the JWK kty an algorithm signs with.
func keyType(alg string) string {
	switch alg {
	case "RS256", "PS256":
		return "RSA"
	case "ES256":
		return "EC"
	case "EdDSA":
		return "OKP"
	}
	return ""
}

// jwkType is a parsed key's kty.
func jwkType(k jose.JSONWebKey) string {
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "OKP"
	}
	return ""
}
