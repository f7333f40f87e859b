package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// maxProofKeys bounds proofKeys; when it is full it starts again empty.
const maxProofKeys = 4096

// proofKey is what a DPoP proof's protected header establishes once every
// check of the header has passed (typ dpop+jwt, an accepted alg, a public
// jwk of the alg's type that verified a signature, no crit or b64): the
// algorithm, the key and its RFC 7638 thumbprint.
type proofKey struct {
	alg string
	jkt string
	ec  *ecdsa.PublicKey  // ES256
	ed  ed25519.PublicKey // EdDSA
}

// proofKeys remembers checked protected headers by their encoded form. A
// client signs its proofs with one key, so they share the first segment
// byte for byte: a later proof with a remembered segment skips decoding
// the header and the jwk (go-jose decodes the header twice) and computing
// the thumbprint. Its signature, claims and jti are checked as always.
// ES256 and EdDSA only: RSA proofs take the full path every time.
type proofKeys struct {
	mu sync.Mutex
	m  map[string]*proofKey
}

func (c *proofKeys) get(header string) *proofKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[header]
}

func (c *proofKeys) put(header string, k *proofKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxProofKeys {
		c.m = make(map[string]*proofKey)
	}
	c.m[header] = k
}

// verify checks sig over the JWS signing input as go-jose does for the
// key's algorithm.
func (k *proofKey) verify(input string, sig []byte) bool {
	switch {
	case k.ec != nil:
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256([]byte(input))
		return ecdsa.Verify(k.ec, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case k.ed != nil:
		return ed25519.Verify(k.ed, []byte(input), sig)
	}
	return false
}

var errNotAProof = dpopError("proof is not a JWS with an accepted algorithm (ES256, EdDSA, RS256, PS256)")

// dpopSigned checks a proof's JWS (RFC 9449 4.3 steps 2 to 7): a JWT in
// compact form with typ dpop+jwt, an accepted algorithm, a public jwk of
// the algorithm's type, and a signature by that key. It answers the
// payload and the key.
func (p *Provider) dpopSigned(raw string) ([]byte, *proofKey, *oidc.Error) {
	header, rest, _ := strings.Cut(raw, ".")
	if k := p.proofKeys.get(header); k != nil {
		claims, sig64, ok := strings.Cut(rest, ".")
		if !ok || strings.Contains(sig64, ".") {
			return nil, nil, errNotAProof
		}
		payload, err1 := base64.RawURLEncoding.DecodeString(claims)
		sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
		if err1 != nil || err2 != nil {
			return nil, nil, errNotAProof
		}
		if !k.verify(raw[:len(header)+1+len(claims)], sig) {
			return nil, nil, dpopError("signature does not verify")
		}
		return payload, k, nil
	}
	jws, err := jose.ParseSignedCompact(raw, dpopAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, errNotAProof
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, nil, dpopError("typ must be dpop+jwt")
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() || keyType(h.Algorithm) != jwkType(*jwk) {
		return nil, nil, dpopError("jwk must be a public key of the algorithm's type")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, nil, dpopError("signature does not verify")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, nil, dpopError("jwk has no thumbprint")
	}
	k := &proofKey{alg: h.Algorithm, jkt: base64.RawURLEncoding.EncodeToString(tp)}
	_, crit := h.ExtraHeaders["crit"]
	_, b64 := h.ExtraHeaders["b64"]
	if !crit && !b64 {
		switch key := jwk.Key.(type) {
		case *ecdsa.PublicKey:
			if h.Algorithm == string(jose.ES256) {
				k.ec = key
				p.proofKeys.put(header, k)
			}
		case ed25519.PublicKey:
			if h.Algorithm == string(jose.EdDSA) {
				k.ed = key
				p.proofKeys.put(header, k)
			}
		}
	}
	return payload, k, nil
}
