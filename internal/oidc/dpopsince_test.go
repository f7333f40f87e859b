package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/replay"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestDPoPProofBeforeStartRefused: with a replay memory of this process
// only (SQLite's single node), a proof whose iat is before the memory
// began is refused, though inside the iat window, since it may have been
// used before a restart; a proof made after is accepted once.
func TestDPoPProofBeforeStartRefused(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Second)
	now := start.Add(10 * time.Second)
	p := &Provider{now: func() time.Time { return now }, dpopWindow: time.Minute, dpopReplays: &replay.Memory{}, dpopSince: start}
	ctx := withTenant(t.Context(), &store.Tenant{ID: "t1", Slug: "t1"})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const htu = "https://id.example/t/t1/oauth/token"
	try := func(jti string, iat time.Time) string {
		r := httptest.NewRequestWithContext(ctx, "POST", htu, nil)
		r.Header.Set("DPoP", signProof(t, jose.ES256, key, map[string]any{"jti": jti, "htm": "POST", "htu": htu, "iat": iat.Unix()}, nil))
		if _, oe := p.verifyDPoP(ctx, r, htu, ""); oe != nil {
			return oe.Description
		}
		return ""
	}
	if got := try("before", start.Add(-5*time.Second)); got != "proof made before the server started; make a new one" {
		t.Errorf("a proof made 5 s before the start: %q, want refused", got)
	}
	if got := try("after", start.Add(time.Second)); got != "" {
		t.Errorf("a proof made after the start: %q, want accepted", got)
	}
	if got := try("after", start.Add(time.Second)); got != "proof already used (jti replayed)" {
		t.Errorf("the same proof again: %q, want a replay", got)
	}
	p.dpopSince = time.Time{} // a shared, durable memory: no such bound
	if got := try("shared", start.Add(-5*time.Second)); got != "" {
		t.Errorf("a proof made before the start with a shared memory: %q, want accepted", got)
	}
}
