package oidc

import (
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestVerifiedTokens: a verified token is remembered per issuer until it
// expires, least recently used out past the bound; a caller cannot change
// what is remembered; a change of the tenant's keys (or the tenant, or
// anything) forgets its tokens, a change of a client or user does not.
func TestVerifiedTokens(t *testing.T) {
	now := time.Now()
	v := newVerifiedTokens(nil, 2)
	claims := func(scope string) *oidc.AccessTokenClaims {
		return &oidc.AccessTokenClaims{Scopes: []string{scope}, Claims: map[string]any{"gh_fam": "f"}}
	}
	ref := store.AccessTokenRef{ID: "j", ExpiresAt: now.Add(time.Minute)}
	a, b, c := tokenKey("ta", "https://i/t/a", "tok"), tokenKey("ta", "https://i/t/b", "tok"), tokenKey("ta", "https://i/t/a", "other")
	if a == b {
		t.Fatal("one token at two issuers has one key")
	}
	// A tenant made later under a purged tenant's slug has its issuer.
	if a == tokenKey("tb", "https://i/t/a", "tok") {
		t.Fatal("one token at one issuer has one key in two tenants")
	}
	v.put(a, "ta", claims("a"), ref)
	got, gotRef, ok := v.get(a, now)
	if !ok || got.Scopes[0] != "a" || gotRef.ID != "j" {
		t.Fatalf("get = %v %v %v", got, gotRef, ok)
	}
	got.Scopes[0], got.Claims["gh_fam"] = "changed", "changed"
	if again, _, _ := v.get(a, now); again.Scopes[0] != "a" || again.Claims["gh_fam"] != "f" {
		t.Errorf("a caller changed the remembered claims: %v", again)
	}
	if _, _, ok := v.get(b, now); ok {
		t.Error("a token remembered at one issuer answers at another")
	}
	if _, _, ok := v.get(a, now.Add(time.Minute)); ok {
		t.Error("an expired token answers")
	}
	if _, _, ok := v.get(a, now); ok {
		t.Error("an expired token stays after it was found expired")
	}

	v.put(a, "ta", claims("a"), ref)
	v.put(b, "tb", claims("b"), ref)
	v.get(a, now) // a most recently used: b goes first
	v.put(c, "ta", claims("c"), ref)
	if _, _, ok := v.get(b, now); ok {
		t.Error("the least recently used entry stayed past the bound")
	}
	for _, k := range [][32]byte{a, c} {
		if _, _, ok := v.get(k, now); !ok {
			t.Error("a recently used entry went")
		}
	}
	for _, kind := range []string{store.ChangeClient, store.ChangeUser} {
		v.changed(store.Change{Kind: kind, Tenant: "ta", ID: "x"})
		if _, _, ok := v.get(a, now); !ok {
			t.Errorf("a %s change forgot a verified token", kind)
		}
	}
	v.put(b, "tb", claims("b"), ref)
	v.changed(store.Change{Kind: store.ChangeKeys, Tenant: "ta"})
	if _, _, ok := v.get(a, now); ok {
		t.Error("a token of a tenant whose keys changed is still remembered")
	}
	if _, _, ok := v.get(b, now); !ok {
		t.Error("another tenant's token was forgotten")
	}
	v.changed(store.Change{Kind: store.ChangeAll})
	if _, _, ok := v.get(b, now); ok {
		t.Error("ChangeAll left a token")
	}
}
