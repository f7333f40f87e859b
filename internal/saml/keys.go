package saml

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// keyTTL is how long a tenant's opened keys and certificates stay cached.
// Rotation publishes the next key long before it signs, so a node that
// caches this long still publishes correctly.
const keyTTL = 5 * time.Second

// certValidity is how long a signing certificate claims to be valid. SAML
// uses certificates as key containers; what retires a key is rotation.
const certValidity = 10 * 365 * 24 * time.Hour

// tenantCerts is one tenant's signing key and published certificates.
type tenantCerts struct {
	loaded time.Time
	key    *rsa.PrivateKey
	cert   *x509.Certificate   // the active key's: it signs
	extra  []*x509.Certificate // next and retiring keys': published, never used
}

// certRing opens tenants' RS256 keys and wraps each in a self-signed
// certificate. The key stays sealed at rest (internal/keys); the
// certificate is derived from it and the key's record alone (serial from
// the kid, validity from its creation, PKCS #1 v1.5 signatures are
// deterministic), so every node and every restart publishes the same bytes.
type certRing struct {
	store store.Store
	keys  *keys.Manager
	now   func() time.Time

	mu    sync.Mutex
	cache map[store.TenantID]*tenantCerts
}

func (k *certRing) get(ctx context.Context, t *store.Tenant) (*tenantCerts, error) {
	k.mu.Lock()
	tc := k.cache[t.ID]
	k.mu.Unlock()
	now := k.now()
	if tc != nil && now.Sub(tc.loaded) < keyTTL {
		return tc, nil
	}
	list, err := k.store.SigningKeys().ListSigningKeys(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	tc = &tenantCerts{loaded: now}
	var activeAt time.Time
	for i := range list {
		sk := &list[i]
		if sk.Alg != "RS256" || (sk.Status == store.KeyRetired && sk.RetireAt != nil && !now.Before(*sk.RetireAt)) {
			continue
		}
		signer, err := k.keys.Open(sk)
		if err != nil {
			return nil, err
		}
		priv, ok := signer.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("saml: key %s is not RSA", sk.ID)
		}
		cert, err := certificateFor(t, sk, priv)
		if err != nil {
			return nil, err
		}
		// The newest active key signs; every other published key's
		// certificate is announced beside it (rotation overlap).
		if sk.Status == store.KeyActive && (tc.key == nil || sk.CreatedAt.After(activeAt)) {
			if tc.cert != nil {
				tc.extra = append(tc.extra, tc.cert)
			}
			tc.key, tc.cert, activeAt = priv, cert, sk.CreatedAt
			continue
		}
		tc.extra = append(tc.extra, cert)
	}
	if tc.key == nil {
		return nil, errors.New("saml: the tenant has no active RS256 key")
	}
	k.mu.Lock()
	k.cache[t.ID] = tc
	k.mu.Unlock()
	return tc, nil
}

// certificateFor makes the self-signed certificate of a signing key.
func certificateFor(t *store.Tenant, sk *store.SigningKey, priv *rsa.PrivateKey) (*x509.Certificate, error) {
	sum := sha256.Sum256([]byte(sk.ID))
	serial := new(big.Int).SetBytes(sum[:16])
	notBefore := sk.CreatedAt.UTC().Truncate(time.Second).Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gatehouse SAML " + t.Slug, SerialNumber: sk.ID},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("saml: certificate for key %s: %w", sk.ID, err)
	}
	return x509.ParseCertificate(der)
}
