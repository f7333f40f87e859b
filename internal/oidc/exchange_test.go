package oidc

import (
	"slices"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestExchangeAudience: the caller itself by default; others only from
// its policy (invalid_target), deduplicated, bounded.
func TestExchangeAudience(t *testing.T) {
	c := &client{c: &store.Client{ID: "svc", TokenExchange: store.TokenExchangePolicy{Audiences: []string{"https://api.example", "other"}}}}
	req := func(aud []string, res ...string) *oidc.TokenExchangeRequest {
		return &oidc.TokenExchangeRequest{Audience: aud, Resource: res}
	}
	if got, err := exchangeAudience(c, req(nil)); err != nil || got != nil {
		t.Errorf("no audience: %v %v", got, err)
	}
	if got, err := exchangeAudience(c, req([]string{"svc", "other"}, "https://api.example", "other")); err != nil ||
		!slices.Equal(got, []string{"svc", "other", "https://api.example"}) {
		t.Errorf("allowed audiences: %v %v", got, err)
	}
	for _, bad := range [][]string{{"https://evil.example"}, {"svc", "stranger"}} {
		_, err := exchangeAudience(c, req(bad))
		if oe, ok := err.(*oidc.Error); !ok || oe.ErrorType != "invalid_target" {
			t.Errorf("audience %v: %v, want invalid_target", bad, err)
		}
	}
}

// TestExchangeScopes: a subset of the subject token's and the caller's,
// never offline_access.
func TestExchangeScopes(t *testing.T) {
	c := &client{c: &store.Client{ID: "svc"}} // the standard scopes
	have := []string{"openid", "email", "offline_access", "custom"}
	if got, err := exchangeScopes(c, have, nil); err != nil || !slices.Equal(got, []string{"openid", "email"}) {
		t.Errorf("default: %v %v", got, err)
	}
	if got, err := exchangeScopes(c, have, []string{"email"}); err != nil || !slices.Equal(got, []string{"email"}) {
		t.Errorf("narrowed: %v %v", got, err)
	}
	for _, asked := range [][]string{{"profile"}, {"offline_access"}, {"custom"}} {
		if _, err := exchangeScopes(c, have, asked); err == nil {
			t.Errorf("scopes %v accepted", asked)
		}
	}
}
