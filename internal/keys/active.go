package keys

import (
	"context"
	"crypto"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Active answers tenant's signing key of alg that signs now (the newest
// active one), opened. It is published in the tenant's JWKS, so what it
// signs verifies there. An error when the tenant has no active key of alg.
func (m *Manager) Active(ctx context.Context, repos store.Repos, tenant store.TenantID, alg string) (*store.SigningKey, crypto.Signer, error) {
	list, err := repos.SigningKeys().ListSigningKeys(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	var active *store.SigningKey
	for i := range list {
		if list[i].Alg == alg && list[i].Status == store.KeyActive {
			active = &list[i]
		}
	}
	if active == nil {
		return nil, nil, fmt.Errorf("keys: tenant has no active %s key", alg)
	}
	signer, err := m.Open(active)
	if err != nil {
		return nil, nil, err
	}
	return active, signer, nil
}
