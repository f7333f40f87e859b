package oidc

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// keyTTL is how long a tenant's opened keys stay cached. Rotation makes a
// next key public before it signs and keeps the retired one published, so a
// node that caches this long still verifies and publishes correctly.
const keyTTL = 5 * time.Second

// tenantKeys is one tenant's opened key set.
type tenantKeys struct {
	loaded  time.Time
	signers map[string]signingKey // active key per algorithm
	public  []op.Key              // every published key
}

// keyRing opens and caches tenants' signing keys: unsealing costs an AES-GCM
// open and a PKCS#8 parse, too much for every token.
type keyRing struct {
	store store.Store
	keys  *keys.Manager
	now   func() time.Time

	mu    sync.Mutex
	cache map[store.TenantID]*tenantKeys
}

// newKeyRing builds the ring; a store that tells of changes (on
// PostgreSQL those of every node) drops a tenant's keys the moment they
// change, keyTTL staying as the safety net.
func newKeyRing(s store.Store, m *keys.Manager, now func() time.Time) *keyRing {
	k := &keyRing{store: s, keys: m, now: now, cache: map[store.TenantID]*tenantKeys{}}
	if f, ok := s.(store.ChangeFeed); ok {
		f.OnChange(k.changed)
	}
	return k
}

func (k *keyRing) changed(c store.Change) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch c.Kind {
	case store.ChangeKeys, store.ChangeTenant:
		delete(k.cache, c.Tenant)
	case store.ChangeAll:
		clear(k.cache)
	}
}

func (k *keyRing) get(ctx context.Context, tenant store.TenantID) (*tenantKeys, error) {
	k.mu.Lock()
	tk := k.cache[tenant]
	k.mu.Unlock()
	if tk != nil && k.now().Sub(tk.loaded) < keyTTL {
		return tk, nil
	}
	list, err := k.store.SigningKeys().ListSigningKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	tk = &tenantKeys{loaded: k.now(), signers: map[string]signingKey{}}
	now := k.now()
	for i := range list {
		sk := &list[i]
		if sk.Status == store.KeyRetired && sk.RetireAt != nil && !now.Before(*sk.RetireAt) {
			continue // its tokens have expired: no longer published
		}
		pub, err := x509.ParsePKIXPublicKey(sk.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("oidc: key %s: %w", sk.ID, err)
		}
		tk.public = append(tk.public, publicKey{id: sk.ID, alg: jose.SignatureAlgorithm(sk.Alg), key: pub})
		if sk.Status != store.KeyActive {
			continue
		}
		priv, err := k.keys.Open(sk)
		if err != nil {
			return nil, err
		}
		// The newest active key of an algorithm signs.
		tk.signers[sk.Alg] = signingKey{id: sk.ID, alg: jose.SignatureAlgorithm(sk.Alg), key: priv}
	}
	k.mu.Lock()
	k.cache[tenant] = tk
	k.mu.Unlock()
	return tk, nil
}

// signer answers the tenant's active key for alg.
func (k *keyRing) signer(ctx context.Context, tenant store.TenantID, alg string) (signingKey, error) {
	tk, err := k.get(ctx, tenant)
	if err != nil {
		return signingKey{}, err
	}
	s, ok := tk.signers[alg]
	if !ok {
		return signingKey{}, fmt.Errorf("oidc: tenant has no active %s key", alg)
	}
	return s, nil
}

// signingKey implements op.SigningKey.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.alg }
func (s signingKey) Key() any                                    { return s.key }
func (s signingKey) ID() string                                  { return s.id }

// sign serialises claims as a compact JWS.
func (s signingKey) sign(claims any) (string, error) {
	signer, err := op.SignerFromKey(s)
	if err != nil {
		return "", err
	}
	payload, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// publicKey implements op.Key.
type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key any
}

func (p publicKey) ID() string                         { return p.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.key }
