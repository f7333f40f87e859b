package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// signProof signs claims as a DPoP proof by key (its public key as jwk),
// with extra protected headers.
func signProof(t testing.TB, alg jose.SignatureAlgorithm, key crypto.Signer, claims map[string]any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: key.Public()})
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func thumb(t testing.TB, key crypto.Signer) string {
	tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// TestDPoPSignedRemembersHeaders: a proof's checked header is remembered
// for ES256 and EdDSA keys, and a later proof with the same header is
// still refused when its signature is another key's, its payload was
// changed, or it is not a compact JWS; RSA keys and headers with crit or
// b64 are not remembered.
func TestDPoPSignedRemembersHeaders(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name     string
		alg      jose.SignatureAlgorithm
		key      crypto.Signer
		remember bool
	}{{"ES256", jose.ES256, ec, true}, {"EdDSA", jose.EdDSA, ed, true}, {"RS256", jose.RS256, rk, false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{}
			first := signProof(t, tc.alg, tc.key, map[string]any{"jti": "1"}, nil)
			header, _, _ := strings.Cut(first, ".")
			for i, proof := range []string{first, signProof(t, tc.alg, tc.key, map[string]any{"jti": "2"}, nil)} {
				payload, k, oe := p.dpopSigned(proof)
				if oe != nil {
					t.Fatalf("proof %d: %v", i+1, oe.Description)
				}
				if k.jkt != thumb(t, tc.key) || k.alg != string(tc.alg) || !strings.Contains(string(payload), `"jti"`) {
					t.Fatalf("proof %d: jkt %s alg %s payload %s", i+1, k.jkt, k.alg, payload)
				}
				if got := p.proofKeys.get(header) != nil; got != tc.remember {
					t.Fatalf("proof %d: header remembered %v, want %v", i+1, got, tc.remember)
				}
			}
			// The same header over another key's signature.
			forged := signProof(t, jose.ES256, other, map[string]any{"jti": "3"}, nil)
			_, body, _ := strings.Cut(forged, ".")
			if _, _, oe := p.dpopSigned(header + "." + body); oe == nil || oe.Description != "signature does not verify" {
				t.Errorf("another key's signature under a remembered header: %v", oe)
			}
			// A changed payload under the original signature.
			parts := strings.Split(first, ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"changed"}`))
			if _, _, oe := p.dpopSigned(strings.Join(parts, ".")); oe == nil {
				t.Error("changed payload accepted")
			}
			for _, bad := range []string{header + ".", header + "..", first + ".x", header + ".!!." + parts[2], header + "." + parts[1] + ".!!"} {
				if _, _, oe := p.dpopSigned(bad); oe == nil {
					t.Errorf("%q accepted", bad)
				}
			}
		})
	}
	t.Run("b64 false", func(t *testing.T) {
		// RFC 7797: the signing input holds the payload unencoded, which
		// the remembered path (over the encoded segments) does not do: such
		// a header is never remembered, whether or not it verifies.
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ec}, (&jose.SignerOptions{}).WithType("dpop+jwt").
			WithHeader("jwk", jose.JSONWebKey{Key: ec.Public()}).WithBase64(false))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign([]byte(`{"jti":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		proof, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		p := &Provider{}
		p.dpopSigned(proof)
		header, _, _ := strings.Cut(proof, ".")
		if p.proofKeys.get(header) != nil {
			t.Error("a header with b64 was remembered")
		}
	})
	t.Run("JSON serialization", func(t *testing.T) {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ec},
			(&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: ec.Public()}))
		obj, _ := s.Sign([]byte(`{"jti":"1"}`))
		if _, _, oe := (&Provider{}).dpopSigned(obj.FullSerialize()); oe == nil {
			t.Error("a JWS in JSON serialization accepted as a proof")
		}
	})
}

// BenchmarkDPoPSigned: the proof's JWS checks, the first proof of a key
// (go-jose) against a later one (remembered header).
func BenchmarkDPoPSigned(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proof := signProof(b, jose.ES256, ec, map[string]any{"jti": "1", "htm": "POST", "htu": "https://id.example.com/t/default/oauth/token", "iat": 1}, nil)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			p := &Provider{}
			if _, _, oe := p.dpopSigned(proof); oe != nil {
				b.Fatal(oe)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		p := &Provider{}
		p.dpopSigned(proof)
		for b.Loop() {
			if _, _, oe := p.dpopSigned(proof); oe != nil {
				b.Fatal(oe)
			}
		}
	})
}
