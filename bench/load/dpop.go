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
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func init() {
	scenarios["client_credentials_dpop"] = scenario{name: "client_credentials_dpop", unit: "req", needs: needCC,
		setup: setupDPoPCC}
}

// The proofs of a run are signed before it starts, at most this many (about
// 650 bytes each), and only when the run is short enough for the first of
// them to stay inside the server's iat window (60 s by default) until the
// last is sent. A run that uses them up signs the rest on the fly.
const (
	maxPresigned = 300000
	presignSpan  = 45 * time.Second
	// presignRate is the most requests per second a run is expected to
	// reach, to size the pool from the run's length.
	presignRate = 25000
)

// setupDPoPCC is client_credentials with a DPoP proof (RFC 9449): every
// request carries a fresh ES256 proof by one key (its own jti), so the
// server verifies a signature, checks the jti against replay and binds the
// token (cnf.jkt) on top of the plain grant. The proofs are signed ahead,
// before the warm-up, so the generator's own ES256 signatures (as costly as
// the server's) do not take CPU from the server on a shared machine during
// the measured run; the server's work per request is the same either way.
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
	sign := func() (string, error) {
		jti := make([]byte, 16)
		if _, err := rand.Read(jti); err != nil {
			return "", err
		}
		claims, _ := json.Marshal(map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": "POST",
			"htu": tokenURL, "iat": time.Now().Unix()})
		obj, err := signer.Sign(claims)
		if err != nil {
			return "", err
		}
		return obj.CompactSerialize()
	}
	pool, err := presign(t, sign)
	if err != nil {
		return nil, nil, err
	}
	var next atomic.Int64
	body := []byte("grant_type=client_credentials")
	return func(ctx context.Context) error {
		var proof string
		if i := next.Add(1) - 1; i < int64(len(pool)) {
			proof = pool[i]
		} else {
			p, err := sign()
			if err != nil {
				return err
			}
			proof = p
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

// presign signs the proofs of one run ahead, on every core: enough for
// presignRate requests a second over the warm-up and the run, capped by the
// run's request cap and maxPresigned; none when the run is longer than
// presignSpan.
func presign(t *target, sign func() (string, error)) ([]string, error) {
	if t.span <= 0 || t.span > presignSpan {
		return nil, nil
	}
	n := min(int(t.span.Seconds()*presignRate), maxPresigned)
	if t.maxRequests > 0 {
		n = min(n, t.maxRequests+presignRate) // the warm-up has its own cap
	}
	pool := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if pool[i], errs[w] = sign(); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return pool, nil
}
