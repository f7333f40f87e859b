package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// jarRP is a client that signs its authorization requests with go-jose.
type jarRP struct {
	*rp
	key    *ecdsa.PrivateKey
	issuer string
}

// object signs claims (the standard ones filled unless set) as the
// client's request object.
func (j *jarRP) object(t *testing.T, claims map[string]any, key *ecdsa.PrivateKey) string {
	t.Helper()
	now := time.Now()
	base := map[string]any{"iss": j.conf.ClientID, "aud": j.issuer, "client_id": j.conf.ClientID,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"response_type": "code", "redirect_uri": j.redirect, "scope": "openid email"}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("oauth-authz-req+jwt").WithHeader("kid", "rp-1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(base)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// pkce answers a verifier and the request object claims that carry its
// challenge, a state and a nonce.
func pkce() (string, map[string]any) {
	v := oauth2.GenerateVerifier()
	return v, map[string]any{"code_challenge": oauth2.S256ChallengeFromVerifier(v), "code_challenge_method": "S256",
		"state": "st-" + v[:8], "nonce": "n-" + v[8:16]}
}

// finish logs in from authURL, exchanges the code with golang.org/x/oauth2
// and checks that the ID token carries the object's nonce.
func (j *jarRP) finish(t *testing.T, authURL, verifier string, claims map[string]any) {
	t.Helper()
	q := j.authorize(authURL, "jar@example.com", "a long jar passphrase")
	if q.Get("code") == "" || q.Get("state") != claims["state"] {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := j.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := j.verifier.Verify(context.Background(), raw)
	if err != nil || idt.Nonce != claims["nonce"] {
		t.Fatalf("ID token: %v nonce %q, want %q", err, idt.Nonce, claims["nonce"])
	}
}

// refused: the authorization endpoint answers 400 with code and sends
// the browser nowhere.
func refused(t *testing.T, name, authURL, code string) {
	t.Helper()
	res, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, code) {
		t.Errorf("%s: %d %.300s, want 400 %s", name, res.StatusCode, body, code)
	}
}

// TestJAR: RFC 9101 request objects signed by the client with go-jose, by
// value, by reference (fetched from the client's server), pushed (PAR),
// and encrypted to the tenant's published enc key; each yields a code for
// the object's parameters (the query's are ignored). Tampered, expired,
// wrong-audience, wrong-issuer, unsigned, other-key and mismatched
// client_id objects are refused, and a client registered with
// require_signed_request_object cannot send a plain request.
func TestJAR(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", "jar@example.com", "a long jar passphrase")
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			pub := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"}}}
			j := &jarRP{rp: d.rp(t, "default"), key: key, issuer: d.base + "/t/default"}
			d.platform(t).must(200, "PATCH", "/api/v1/tenants/default/clients/"+j.conf.ClientID,
				map[string]any{"jwks": pub, "require_signed_request_object": true})
			m := d.discover(t, "default")
			authz := func(q url.Values) string {
				q.Set("client_id", j.conf.ClientID)
				return m.Authorization + "?" + q.Encode()
			}

			t.Run("ByValue", func(t *testing.T) {
				v, c := pkce()
				// The query's scope and state are ignored: only the object counts.
				j.finish(t, authz(url.Values{"request": {j.object(t, c, key)}, "scope": {"openid"}, "state": {"query"}}), v, c)
			})

			var (
				mu      sync.Mutex
				objects = map[string]string{}
			)
			host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				obj, ok := objects[r.URL.Path]
				mu.Unlock()
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
				_, _ = w.Write([]byte(obj))
			}))
			defer host.Close()
			serve := func(path, obj string) string {
				mu.Lock()
				objects[path] = obj
				mu.Unlock()
				return host.URL + path
			}

			t.Run("ByReference", func(t *testing.T) {
				v, c := pkce()
				j.finish(t, authz(url.Values{"request_uri": {serve("/req/1", j.object(t, c, key))}}), v, c)
			})

			t.Run("Pushed", func(t *testing.T) {
				v, c := pkce()
				r := postForm(t, d.base+"/t/default/par", url.Values{"request": {j.object(t, c, key)}},
					j.conf.ClientID, j.conf.ClientSecret)
				if r.Status != 201 {
					t.Fatalf("PAR with a request object: %d %v", r.Status, r.Body)
				}
				j.finish(t, authz(url.Values{"request_uri": {r.str("request_uri")}}), v, c)
				r = postForm(t, d.base+"/t/default/par", url.Values{"response_type": {"code"}, "redirect_uri": {j.redirect},
					"scope": {"openid"}}, j.conf.ClientID, j.conf.ClientSecret)
				if r.errCode() != "invalid_request_object" {
					t.Fatalf("plain PAR of a client that must sign: %d %v", r.Status, r.Body)
				}
			})

			t.Run("Encrypted", func(t *testing.T) {
				var enc *jose.JSONWebKey
				set := jwks(t, m.JWKS)
				for i, k := range set.Keys {
					if k.Use == "enc" {
						enc = &set.Keys[i]
					}
				}
				if enc == nil || enc.Algorithm != "ECDH-ES" {
					t.Fatalf("no enc key in the JWKS: %+v", set.Keys)
				}
				v, c := pkce()
				e, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES, Key: enc.Key, KeyID: enc.KeyID},
					(&jose.EncrypterOptions{}).WithContentType("JWT"))
				if err != nil {
					t.Fatal(err)
				}
				obj, err := e.Encrypt([]byte(j.object(t, c, key)))
				if err != nil {
					t.Fatal(err)
				}
				s, _ := obj.CompactSerialize()
				j.finish(t, authz(url.Values{"request": {s}}), v, c)
			})

			t.Run("Refused", func(t *testing.T) {
				_, c := pkce()
				good := j.object(t, c, key)
				parts := strings.Split(good, ".")
				tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
				with := func(k string, v any) string { c2 := map[string]any{k: v}; return j.object(t, c2, key) }
				unsigned := "eyJhbGciOiJub25lIn0." + parts[1] + "."
				for name, q := range map[string]url.Values{
					"tampered":              {"request": {tampered}},
					"expired":               {"request": {with("exp", time.Now().Add(-time.Minute).Unix())}},
					"no exp":                {"request": {with("exp", nil)}},
					"exp too far":           {"request": {with("exp", time.Now().Add(2*time.Hour).Unix())}},
					"wrong aud":             {"request": {with("aud", "https://elsewhere.example")}},
					"wrong iss":             {"request": {with("iss", "someone-else")}},
					"other client_id":       {"request": {with("client_id", "someone-else")}},
					"alg none":              {"request": {unsigned}},
					"other key":             {"request": {j.object(t, c, other)}},
					"nested request_uri":    {"request": {with("request_uri", "https://x.example/r")}},
					"plain request":         {"response_type": {"code"}, "redirect_uri": {j.redirect}, "scope": {"openid"}},
					"tampered by reference": {"request_uri": {serve("/req/bad", tampered)}},
				} {
					code := "invalid_request_object"
					refused(t, name, authz(q), code)
				}
				refused(t, "request_uri answering 404", authz(url.Values{"request_uri": {host.URL + "/req/none"}}), "invalid_request_uri")
				refused(t, "both request and request_uri", authz(url.Values{"request": {good}, "request_uri": {host.URL + "/req/1"}}),
					"invalid_request_object")
			})
		})
	}
}
