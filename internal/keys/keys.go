// Package keys creates, seals and loads tenants' signing keys. Private keys
// are stored only sealed with the master key and bound to (tenant, kid).
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

// DefaultAlgs are the algorithms every tenant gets a key for at creation:
// RS256 for ID tokens (every client library supports it), ES256 for access
// tokens (about 25x cheaper to sign) and EdDSA for clients that choose it.
var DefaultAlgs = []string{"RS256", "ES256", "EdDSA"}

// Manager creates and opens signing keys.
type Manager struct {
	Sealer *seal.Sealer
	Now    func() time.Time
	Rand   io.Reader // nil: crypto/rand
}

func (m *Manager) rand() io.Reader {
	if m.Rand != nil {
		return m.Rand
	}
	return rand.Reader
}

func aad(tenant store.TenantID, kid string) []byte {
	return []byte("signing-key\x00" + string(tenant) + "\x00" + kid)
}

// Generate makes a new key of alg for tenant, sealed, with the given status.
// It does not store it.
func (m *Manager) Generate(tenant store.TenantID, alg string, status store.KeyStatus) (*store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(m.rand(), 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), m.rand())
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(m.rand())
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: marshal: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("keys: marshal public: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	kid := id.String()
	sealed, err := m.Sealer.Seal(der, aad(tenant, kid))
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{
		ID: kid, Tenant: tenant, Alg: alg, Status: status,
		PublicKey: pub, Sealed: sealed, CreatedAt: m.Now().UTC(),
	}, nil
}

// CreateDefaults stores, per DefaultAlgs, an active key and the next one
// for a new tenant, through repos so it can share the tenant's creation
// transaction. The next key is published from the start, so when a
// rotation makes it sign, every client has already seen it.
func (m *Manager) CreateDefaults(ctx context.Context, repos store.Repos, tenant store.TenantID) error {
	for _, alg := range DefaultAlgs {
		for _, status := range []store.KeyStatus{store.KeyActive, store.KeyNext} {
			if err := m.create(ctx, repos, tenant, alg, status); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) create(ctx context.Context, repos store.Repos, tenant store.TenantID, alg string, status store.KeyStatus) error {
	k, err := m.Generate(tenant, alg, status)
	if err != nil {
		return err
	}
	if err := repos.SigningKeys().CreateSigningKey(ctx, k); err != nil {
		return fmt.Errorf("keys: store %s key: %w", alg, err)
	}
	return nil
}

// Rotate moves every algorithm's keys one step: the next key starts to
// sign, the active one retires (still published until retireAfter has
// passed, so tokens it signed keep verifying) and a new next key is
// published. Call it inside a transaction (store.Store.InTx).
func (m *Manager) Rotate(ctx context.Context, repos store.Repos, tenant store.TenantID, retireAfter time.Duration) error {
	list, err := repos.SigningKeys().ListSigningKeys(ctx, tenant)
	if err != nil {
		return err
	}
	now := m.Now().UTC()
	retireAt := now.Add(retireAfter)
	for _, alg := range DefaultAlgs {
		var next *store.SigningKey
		for i := range list {
			k := &list[i]
			if k.Alg != alg {
				continue
			}
			switch k.Status {
			case store.KeyActive:
				if _, err := repos.SigningKeys().UpdateSigningKey(ctx, tenant, k.ID, func(x *store.SigningKey) error {
					if x.Status != store.KeyActive {
						return store.ErrConflict // another node rotated first
					}
					x.Status, x.RetireAt = store.KeyRetired, &retireAt
					return nil
				}); err != nil {
					return err
				}
			case store.KeyNext:
				next = k
			}
		}
		if next == nil {
			// No published successor (should not happen): make one that
			// signs at once rather than leave the algorithm without a key.
			if err := m.create(ctx, repos, tenant, alg, store.KeyActive); err != nil {
				return err
			}
		} else if _, err := repos.SigningKeys().UpdateSigningKey(ctx, tenant, next.ID, func(x *store.SigningKey) error {
			if x.Status != store.KeyNext {
				return store.ErrConflict
			}
			x.Status = store.KeyActive
			return nil
		}); err != nil {
			return err
		}
		if err := m.create(ctx, repos, tenant, alg, store.KeyNext); err != nil {
			return err
		}
	}
	return nil
}

// Open unseals k's private key and checks it matches the stored public key.
func (m *Manager) Open(k *store.SigningKey) (crypto.Signer, error) {
	der, err := m.Sealer.Open(k.Sealed, aad(k.Tenant, k.ID))
	if err != nil {
		return nil, fmt.Errorf("keys: open %s: %w", k.ID, err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w", k.ID, err)
	}
	signer, ok := p.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: %s is not a signing key", k.ID)
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil || string(pub) != string(k.PublicKey) {
		return nil, fmt.Errorf("keys: %s private and public halves differ", k.ID)
	}
	return signer, nil
}
