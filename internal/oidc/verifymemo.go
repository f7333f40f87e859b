package oidc

import (
	"container/list"
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// verifiedMax bounds the memo of verified access tokens (a few kB each).
const verifiedMax = 10000

// verifiedTokens remembers the access tokens whose signature, issuer and
// expiry verified, until each expires, least recently used first out: a
// resource server introspecting a token again, or a client calling
// userinfo with it again, costs a SHA-256 of the token instead of an ES256
// verification. A verification depends on the token, the issuer (both in
// the key) and the tenant's signing keys: a change of the tenant's keys,
// or of the tenant, drops its entries (store.ChangeFeed, on every node).
// Only what the signature proves is remembered; revocation, the client
// and the user are checked on every use (liveAccessToken).
type verifiedTokens struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *verifiedEntry, most recently used at the front
	m   map[[sha256.Size]byte]*list.Element
}

type verifiedEntry struct {
	key    [sha256.Size]byte
	tenant store.TenantID
	claims *oidc.AccessTokenClaims
	ref    store.AccessTokenRef
}

func newVerifiedTokens(s store.Store, max int) *verifiedTokens {
	v := &verifiedTokens{max: max, ll: list.New(), m: map[[sha256.Size]byte]*list.Element{}}
	if f, ok := s.(store.ChangeFeed); ok {
		f.OnChange(v.changed)
	}
	return v
}

// tokenKey names a token as presented to a tenant under an issuer.
func tokenKey(tenant store.TenantID, issuer, raw string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(issuer))
	h.Write([]byte{0})
	h.Write([]byte(raw))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// get answers a copy of the remembered claims while the token has not
// expired by now (the provider's clock) nor by the system clock (the one
// the verifier checks).
func (v *verifiedTokens) get(k [sha256.Size]byte, now time.Time) (*oidc.AccessTokenClaims, store.AccessTokenRef, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	el := v.m[k]
	if el == nil {
		return nil, store.AccessTokenRef{}, false
	}
	e := el.Value.(*verifiedEntry)
	if !now.Before(e.ref.ExpiresAt) || !time.Now().Before(e.ref.ExpiresAt) {
		v.ll.Remove(el)
		delete(v.m, k)
		return nil, store.AccessTokenRef{}, false
	}
	v.ll.MoveToFront(el)
	return copyClaims(e.claims), e.ref, true
}

func (v *verifiedTokens) put(k [sha256.Size]byte, tenant store.TenantID, claims *oidc.AccessTokenClaims, ref store.AccessTokenRef) {
	e := &verifiedEntry{key: k, tenant: tenant, claims: copyClaims(claims), ref: ref}
	v.mu.Lock()
	defer v.mu.Unlock()
	if el := v.m[k]; el != nil {
		el.Value = e
		v.ll.MoveToFront(el)
		return
	}
	v.m[k] = v.ll.PushFront(e)
	for v.ll.Len() > v.max {
		last := v.ll.Back()
		v.ll.Remove(last)
		delete(v.m, last.Value.(*verifiedEntry).key)
	}
}

func (v *verifiedTokens) changed(c store.Change) {
	if c.Kind == store.ChangeClient || c.Kind == store.ChangeUser {
		return // neither is part of a verification
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for el := v.ll.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*verifiedEntry); c.Kind == store.ChangeAll || e.tenant == c.Tenant {
			v.ll.Remove(el)
			delete(v.m, e.key)
		}
		el = next
	}
}

// copyClaims copies what a caller might change in place (the scopes, the
// audience, the map of other claims), so no request reaches another's.
func copyClaims(c *oidc.AccessTokenClaims) *oidc.AccessTokenClaims {
	n := *c
	n.Scopes = slices.Clone(c.Scopes)
	n.Audience = slices.Clone(c.Audience)
	n.AuthenticationMethodsReferences = slices.Clone(c.AuthenticationMethodsReferences)
	n.Claims = maps.Clone(c.Claims)
	return &n
}
