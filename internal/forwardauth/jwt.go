package forwardauth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The signed identity token an application may ask for (headers "jwt"):
// RS256 with the tenant's active key, verifiable with the tenant's JWKS
// ({issuer}/keys), valid for a minute, audience the application's id.

// jwtTTL is how long a forwarded identity token is valid: the proxy mints
// one per request.
const jwtTTL = time.Minute

// signerTTL is how long an opened signing key stays cached (as the OpenID
// provider's): rotation publishes a key before it signs.
const signerTTL = 5 * time.Second

// tokenSigner opens and caches each tenant's active RS256 key.
type tokenSigner struct {
	Store store.Store
	Keys  *keys.Manager

	mu    sync.Mutex
	cache map[store.TenantID]cachedKey
}

type cachedKey struct {
	id     string
	key    crypto.Signer
	loaded time.Time
}

func (s *tokenSigner) key(ctx context.Context, tenant store.TenantID) (cachedKey, error) {
	s.mu.Lock()
	k, ok := s.cache[tenant]
	s.mu.Unlock()
	if ok && time.Since(k.loaded) < signerTTL {
		return k, nil
	}
	list, err := s.Store.SigningKeys().ListSigningKeys(ctx, tenant)
	if err != nil {
		return cachedKey{}, err
	}
	for i := range list {
		sk := &list[i]
		if sk.Status != store.KeyActive || sk.Alg != string(jose.RS256) {
			continue
		}
		priv, err := s.Keys.Open(sk)
		if err != nil {
			return cachedKey{}, err
		}
		k = cachedKey{id: sk.ID, key: priv, loaded: time.Now()}
	}
	if k.key == nil {
		return cachedKey{}, errors.New("forwardauth: the tenant has no active RS256 key")
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[store.TenantID]cachedKey{}
	}
	s.cache[tenant] = k
	s.mu.Unlock()
	return k, nil
}

// sign mints the identity token of id at app.
func (s *tokenSigner) sign(ctx context.Context, issuer string, app *store.ProxyApp, id *proxyapp.Identity) (string, error) {
	k, err := s.key(ctx, app.Tenant)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: &jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	groups, roles := id.Groups, id.Roles
	if groups == nil {
		groups = []string{}
	}
	if roles == nil {
		roles = []string{}
	}
	payload, err := json.Marshal(map[string]any{
		"iss": issuer, "sub": id.User.ID, "aud": app.ID, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(jwtTTL).Unix(), "jti": uuid.Must(uuid.NewV7()).String(),
		"email": id.User.Email, "preferred_username": preferredUsername(id.User), "groups": groups, "roles": roles,
		"amr": id.AMR,
	})
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// preferredUsername is the username, or the email without one.
func preferredUsername(u *store.User) string {
	if u.Username != "" {
		return u.Username
	}
	return u.Email
}
