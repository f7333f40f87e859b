package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/credential"
)

// The limits: what one request of a scenario cannot avoid doing. Each has
// a "one" sub-benchmark (the latency of one operation on one core) and a
// "parallel" one (GOMAXPROCS goroutines; its ns/op is wall time per
// operation, so 1e9/ns_op is the machine's ceiling in operations per
// second). bench/load reads the parallel figures through -limits.
//
// The signatures use the standard library directly, as the server's JOSE
// library does underneath; they omit the JSON and base64 work around a
// JWS, which is small beside the signature.

// signingInput is a JWT header.payload of a typical access token's size.
var signingInput = func() []byte {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"0193a4c2-7d1e-7b3a-9f4e-2c8d5e6f7a8b","typ":"at+jwt"}`))
	p := enc.EncodeToString([]byte(`{"aud":["0193a4c2-7d1e-7b3a-9f4e-2c8d5e6f7a8b"],"client_id":"0193a4c2-7d1e-7b3a-9f4e-2c8d5e6f7a8b",` +
		`"exp":1764400000,"iat":1764399100,"iss":"http://127.0.0.1:8080/t/default","jti":"0193a4c2-7d1e-7b3a-9f4e-2c8d5e6f7a8c",` +
		`"scope":"","sub":"0193a4c2-7d1e-7b3a-9f4e-2c8d5e6f7a8b"}`))
	return []byte(h + "." + p)
}()

// run runs op as the "one" and "parallel" sub-benchmarks of b.
func run(b *testing.B, op func() error) {
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSignES256 is one ES256 signature (P-256, SHA-256): the access
// token of every client_credentials request.
func BenchmarkSignES256(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	run(b, func() error {
		d := sha256.Sum256(signingInput)
		_, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		return err
	})
}

// BenchmarkSignRS256 is one RS256 signature with a 2048-bit key, the size
// internal/keys generates: the ID token of the authorization-code flow.
func BenchmarkSignRS256(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	run(b, func() error {
		d := sha256.Sum256(signingInput)
		_, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
		return err
	})
}

// BenchmarkArgon2id is one argon2id hash at the server's default
// parameters (credential.DefaultParams: m=19 MiB, t=2, p=1), the password
// check of every login: credential.Hasher.Verify of a stored hash, as the
// server calls it, through the same hash slots and the same reused working
// memory (internal/credential/argon2); the PHC parsing and the NFKC
// normalisation around the hash take microseconds.
func BenchmarkArgon2id(b *testing.B) {
	h, err := credential.NewHasher(credential.DefaultParams, nil)
	if err != nil {
		b.Fatal(err)
	}
	const pw = "correct horse battery staple"
	enc, err := h.Hash(pw)
	if err != nil {
		b.Fatal(err)
	}
	run(b, func() error {
		if ok, _, err := h.Verify(enc, pw); !ok || err != nil {
			return fmt.Errorf("Verify = %v, %v", ok, err)
		}
		return nil
	})
}

// TestSigningInputIsAJWT keeps the benchmarks' input shaped like a token.
func TestSigningInputIsAJWT(t *testing.T) {
	if n := strings.Count(string(signingInput), "."); n != 1 || len(signingInput) < 300 {
		t.Fatalf("signing input: %d dots, %d bytes", n, len(signingInput))
	}
}
