package oidc

// JWT-secured authorization requests (RFC 9101). An authorization request
// may come as a request object signed by the client with a key of its
// registered key set (RS256, PS256, ES256 or EdDSA; "none" is refused),
// optionally encrypted to the tenant's request-object key (ECDH-ES, use
// "enc" in the tenant's JWKS): by value in `request`, or by reference in
// `request_uri`, fetched through the outbound policy (internal/safehttp).
// A pushed request (PAR) may carry one too, and that is the preferred way
// (RFC 9101 section 10.7: no fetch). Only the object's parameters count
// (RFC 9101 section 6.3); iss must be the client, aud the issuer, exp in
// the next hour, and its client_id the one sent outside. A client
// registered with require_signed_request_object sends nothing else.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	maxRequestObject     = 32 << 10
	requestObjectTimeout = 3 * time.Second
	// requestObjectMaxLife bounds exp (and exp - nbf): a request object is
	// made for one authorization, now.
	requestObjectMaxLife = time.Hour
	requestObjectSkew    = time.Minute
)

var (
	requestObjectAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}
	requestObjectKeys = []jose.KeyAlgorithm{jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A256KW}
	requestObjectEncs = []jose.ContentEncryption{jose.A128GCM, jose.A256GCM, jose.A128CBC_HS256, jose.A256CBC_HS512}
)

// errRequestObject is the refusal of a request object; never redirected,
// since the redirect URI it names is not trusted.
func errRequestObject(format string, args ...any) *oidc.Error {
	e := oidc.ErrInvalidRequestRedirectURI().WithDescription(format, args...)
	e.ErrorType = "invalid_request_object"
	return e
}

// requestEncKey is tenant's request-object decryption key: a P-256 key
// derived from the master key and the tenant (so every node holds it and
// nothing is stored), published with use "enc".
func (p *Provider) requestEncKey(tenant store.TenantID) (*ecdsa.PrivateKey, string, error) {
	seed := []byte("gatehouse-request-object-enc\x00" + string(tenant))
	for i := range 8 { // a scalar out of range (about 2^-32): derive again
		m := hmac.New(sha256.New, p.requestKeySeed)
		m.Write(append(seed, byte(i)))
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), m.Sum(nil))
		if err != nil {
			continue
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, "", err
		}
		kid := sha256.Sum256(pub)
		return k, "enc-" + base64.RawURLEncoding.EncodeToString(kid[:9]), nil
	}
	return nil, "", errors.New("oidc: no request-object key could be derived")
}

// encKey is the public request-object key in the JWKS (op.Key).
type encKey struct {
	id  string
	key *ecdsa.PublicKey
}

func (k encKey) ID() string                         { return k.id }
func (k encKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(jose.ECDH_ES) }
func (k encKey) Use() string                        { return "enc" }
func (k encKey) Key() any                           { return k.key }

// publicEncKey answers the tenant's request-object key for its JWKS.
func (p *Provider) publicEncKey(tenant store.TenantID) (op.Key, error) {
	k, kid, err := p.requestEncKey(tenant)
	if err != nil {
		return nil, err
	}
	return encKey{id: kid, key: &k.PublicKey}, nil
}

// requestObjectParams are the authorization parameters a request object
// may carry; the request object's own (request, request_uri) may not be.
var requestObjectParams = []string{"client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
	"response_mode", "prompt", "max_age", "login_hint", "ui_locales", "acr_values", "code_challenge",
	"code_challenge_method", "display", "authorization_details"}

// requestObject decrypts (when it is a JWE) and verifies raw, a request
// object of c, and answers its parameters.
func (p *Provider) requestObject(ctx context.Context, c *client, raw string) (url.Values, error) {
	if len(raw) > maxRequestObject {
		return nil, errRequestObject("the request object is too large")
	}
	if strings.Count(raw, ".") == 4 {
		jwe, err := jose.ParseEncrypted(raw, requestObjectKeys, requestObjectEncs)
		if err != nil {
			return nil, errRequestObject("the request object cannot be parsed as a JWE")
		}
		k, kid, err := p.requestEncKey(tenantFrom(ctx).ID)
		if err != nil {
			return nil, err
		}
		if jwe.Header.KeyID != "" && jwe.Header.KeyID != kid {
			return nil, errRequestObject("the request object is encrypted to an unknown key")
		}
		plain, err := jwe.Decrypt(k)
		if err != nil {
			return nil, errRequestObject("the request object cannot be decrypted")
		}
		raw = string(plain) // a nested JWS: an encrypted object is signed too
	}
	jws, err := jose.ParseSigned(raw, requestObjectAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errRequestObject("the request object must be a JWS signed with RS256, PS256, ES256 or EdDSA")
	}
	payload, err := clientKeys{c}.VerifySignature(ctx, jws) // clientauth.go
	if err != nil {
		return nil, errRequestObject("the request object's signature does not verify with the client's keys")
	}
	var claims map[string]any
	d := json.NewDecoder(strings.NewReader(string(payload)))
	d.UseNumber()
	if err := d.Decode(&claims); err != nil {
		return nil, errRequestObject("the request object's claims are not a JSON object")
	}
	if err := p.checkRequestClaims(ctx, c, claims); err != nil {
		return nil, err
	}
	return requestParams(claims)
}

// checkRequestClaims checks iss, aud, exp, nbf, iat and client_id.
func (p *Provider) checkRequestClaims(ctx context.Context, c *client, claims map[string]any) error {
	now := p.now()
	num := func(k string) (time.Time, bool, error) {
		v, ok := claims[k]
		if !ok {
			return time.Time{}, false, nil
		}
		n, isNum := v.(json.Number)
		f, err := n.Float64()
		if !isNum || err != nil {
			return time.Time{}, true, errRequestObject("%s must be a number", k)
		}
		return time.Unix(int64(f), 0), true, nil
	}
	if iss, _ := claims["iss"].(string); iss != c.c.ID {
		return errRequestObject("iss must be the client_id")
	}
	if id, has := claims["client_id"]; has && id != c.c.ID {
		return errRequestObject("client_id in the request object does not match")
	}
	if !audienceHas(claims["aud"], p.issuer(ctx)) {
		return errRequestObject("aud must be the issuer")
	}
	exp, has, err := num("exp")
	switch {
	case err != nil:
		return err
	case !has:
		return errRequestObject("exp is required")
	case !now.Before(exp):
		return errRequestObject("the request object has expired")
	case exp.Sub(now) > requestObjectMaxLife:
		return errRequestObject("exp is more than an hour away")
	}
	for _, k := range []string{"nbf", "iat"} {
		t, has, err := num(k)
		switch {
		case err != nil:
			return err
		case has && t.After(now.Add(requestObjectSkew)):
			return errRequestObject("%s is in the future", k)
		case has && exp.Sub(t) > requestObjectMaxLife:
			return errRequestObject("the request object lives longer than an hour")
		}
	}
	for _, k := range []string{"request", "request_uri"} {
		if _, has := claims[k]; has {
			return errRequestObject("a request object cannot carry %s", k)
		}
	}
	return nil
}

// audienceHas: aud is want, or an array holding it.
func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

// requestParams turns a request object's claims into authorization
// parameters: strings as they are, numbers (max_age) in decimal, and
// authorization_details as its JSON; other claims are ignored.
func requestParams(claims map[string]any) (url.Values, error) {
	q := url.Values{}
	for _, k := range requestObjectParams {
		v, has := claims[k]
		if !has {
			continue
		}
		switch x := v.(type) {
		case string:
			q.Set(k, x)
		case json.Number:
			if _, err := strconv.ParseUint(x.String(), 10, 31); err != nil {
				return nil, errRequestObject("%s must be a whole number", k)
			}
			q.Set(k, x.String())
		default:
			if k != "authorization_details" {
				return nil, errRequestObject("%s must be a string", k)
			}
			b, err := json.Marshal(x)
			if err != nil {
				return nil, errRequestObject("authorization_details is malformed")
			}
			q.Set(k, string(b))
		}
	}
	return q, nil
}

// fetchRequestObject fetches a request_uri (RFC 9101 section 5.2.3):
// https, or http on loopback while the deployment itself is on http; no
// redirects; at most maxRequestObject bytes.
func (p *Provider) fetchRequestObject(ctx context.Context, uri string) (string, error) {
	u, err := url.Parse(uri)
	switch {
	case len(uri) > 2048 || err != nil || u.Host == "" || u.User != nil:
		return "", errRequestURI("request_uri is not a URL the server can fetch")
	case u.Scheme != "https" && !(u.Scheme == "http" && strings.HasPrefix(p.publicURL, "http://")):
		return "", errRequestURI("request_uri must be https")
	}
	ctx, cancel := context.WithTimeout(ctx, requestObjectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return "", errRequestURI("request_uri is not a URL the server can fetch")
	}
	req.Header.Set("Accept", "application/oauth-authz-req+jwt")
	res, err := p.backchannelClient().Do(req) // backchannel.go: the outbound policy
	if err != nil {
		p.log.InfoContext(ctx, "oidc: request_uri fetch failed", "err", err)
		return "", errRequestURI("request_uri could not be fetched")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", errRequestURI(fmt.Sprintf("request_uri answered %d", res.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxRequestObject+1))
	if err != nil || len(b) > maxRequestObject {
		return "", errRequestURI("request_uri's answer is unreadable or too large")
	}
	return strings.TrimSpace(string(b)), nil
}

// authorizeRequestObject continues an authorization request made with a
// request object (by value, or by a request_uri that is not a pushed
// one): the library's authorization path runs with the object's
// parameters only.
func (p *Provider) authorizeRequestObject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	clientID := r.Form.Get("client_id")
	if clientID == "" {
		op.WriteError(w, r, oidc.ErrInvalidRequestRedirectURI().WithDescription("client_id missing"), nil)
		return
	}
	c, err := p.storage.client(ctx, clientID)
	if err != nil {
		op.WriteError(w, r, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client"), nil)
		return
	}
	raw := r.Form.Get("request")
	if uri := r.Form.Get("request_uri"); uri != "" {
		if raw != "" {
			op.WriteError(w, r, errRequestObject("send request or request_uri, not both"), nil)
			return
		}
		if raw, err = p.fetchRequestObject(ctx, uri); err != nil {
			op.WriteError(w, r, err, nil)
			return
		}
	}
	q, err := p.requestObject(ctx, c, raw)
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	q.Set("client_id", clientID)
	r2, ok := p.withAuthorizationDetails(w, r.Clone(ctx), q.Get("authorization_details")) // rar.go
	if !ok {
		return
	}
	r2.Method = http.MethodGet
	r2.Body, r2.ContentLength, r2.Form, r2.PostForm = http.NoBody, 0, nil, nil
	r2.Header.Del("Content-Type")
	r2.URL.RawQuery = q.Encode()
	p.handler.ServeHTTP(w, r2)
}

// requireRequestObject refuses a plain authorization request of a client
// registered with require_signed_request_object; it reports whether it
// answered.
func (p *Provider) requireRequestObject(w http.ResponseWriter, r *http.Request) bool {
	c, err := p.storage.client(r.Context(), r.Form.Get("client_id"))
	if err != nil || !c.c.RequireSignedRequestObject {
		return false
	}
	op.WriteError(w, r, errRequestObject("this client must send its authorization requests as signed request objects"), nil)
	return true
}

// pushedRequestObject replaces a pushed form that carries a request object
// by the object's parameters (RFC 9126 section 3); a client that must sign
// its requests gets nothing else through.
func (p *Provider) pushedRequestObject(ctx context.Context, c *client, f url.Values) (url.Values, error) {
	raw := f.Get("request")
	if raw == "" {
		if c.c.RequireSignedRequestObject {
			return nil, errRequestObject("this client must push signed request objects")
		}
		return f, nil
	}
	if len(f["request"]) > 1 {
		return nil, oidc.ErrInvalidRequest().WithDescription("parameter request repeated")
	}
	q, err := p.requestObject(ctx, c, raw)
	if err != nil {
		return nil, err
	}
	if id := f.Get("client_id"); id != "" && id != c.c.ID {
		return nil, oidc.ErrInvalidRequest().WithDescription("client_id does not match the authenticated client")
	}
	q.Set("client_id", c.c.ID)
	return q, nil
}

// requestObjectDiscovery says what discovery offers of RFC 9101.
func (p *Provider) requestObjectDiscovery(cfg *oidc.DiscoveryConfiguration) {
	cfg.RequestParameterSupported, cfg.RequestURIParameterSupported = true, true
	for _, a := range requestObjectAlgs {
		cfg.RequestObjectSigningAlgValuesSupported = append(cfg.RequestObjectSigningAlgValuesSupported, string(a))
	}
	for _, a := range requestObjectKeys {
		cfg.RequestObjectEncryptionAlgValuesSupported = append(cfg.RequestObjectEncryptionAlgValuesSupported, string(a))
	}
	for _, e := range requestObjectEncs {
		cfg.RequestObjectEncryptionEncValuesSupported = append(cfg.RequestObjectEncryptionEncValuesSupported, string(e))
	}
}
