package oidc

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestCIBAPoll: the decisions of successive polls of one request.
func TestCIBAPoll(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := &store.CIBARequest{ClientID: "pos", State: devicePending, ExpiresAt: now.Add(5*time.Minute + cibaGrace)}
	for i, step := range []struct {
		at     time.Duration
		client string
		change func()
		want   pollResult
	}{
		{0, "pos", nil, pollPending},
		{time.Second, "pos", nil, pollSlowDown},
		{3 * time.Second, "pos", nil, pollSlowDown}, // 2 s after the last poll
		{7 * time.Second, "pos", nil, pollPending},  // 4 s: within the second of jitter
		{10 * time.Second, "other", nil, pollOtherClient},
		{20 * time.Second, "pos", func() { c.State = deviceApproved }, pollIssue},
		{30 * time.Second, "pos", nil, pollUsed},
	} {
		if step.change != nil {
			step.change()
		}
		if got := cibaPoll(c, step.client, now.Add(step.at)); got != step.want {
			t.Fatalf("step %d: %v, want %v", i, got, step.want)
		}
	}
	d := &store.CIBARequest{ClientID: "pos", State: deviceDenied, ExpiresAt: now.Add(time.Minute + cibaGrace)}
	if got := cibaPoll(d, "pos", now); got != pollDenied {
		t.Errorf("denied: %v", got)
	}
	if got := cibaPoll(d, "pos", now.Add(time.Minute)); got != pollExpired {
		t.Errorf("past expires_in: %v", got)
	}
}

func TestValidBinding(t *testing.T) {
	for s, want := range map[string]bool{"": true, "Pay 42 EUR at till 7": true, "Zahlung: 42 €": true,
		strings.Repeat("x", 64): true, strings.Repeat("x", 65): false, "a\nb": false, "a\x00b": false, "\xff": false} {
		if got := validBinding(s); got != want {
			t.Errorf("validBinding(%q) = %v", s, got)
		}
	}
}
