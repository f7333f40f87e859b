package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

// TokenPrefix marks management API keys so secret scanners recognise them.
const TokenPrefix = "gh_ak_"

// API key scopes.
const (
	ScopeAdmin     = "admin"      // everything in the key's tenant (all tenants for a platform key)
	ScopeRead      = "read"       // GET of the key's tenant's resources
	ScopeSCIM      = "scim"       // the SCIM endpoint
	ScopeAuditRead = "audit:read" // the audit log
	ScopeSSF       = "ssf"        // the Shared Signals transmitter's stream management and poll endpoints
)

var tenantScopes = []string{ScopeAdmin, ScopeRead, ScopeSCIM, ScopeAuditRead, ScopeSSF}

// ErrBadToken is the one answer for a missing, unknown, expired or revoked key.
var ErrBadToken = errors.New("tenancy: invalid API key")

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ParseScopes splits "admin,scim" or "admin scim" into scopes.
func ParseScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// CreateAPIKey makes a key for tenant (store.PlatformTenant for a platform
// key) and returns it with its token, which is shown this once and stored
// only as a hash.
func (s *Service) CreateAPIKey(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewAPIKey) (*store.APIKey, string, error) {
	var c valid.Collector
	if len(in.Name) > 100 {
		c.Add("name", "too_long", "A name has at most 100 characters.")
	}
	if len(in.Scopes) == 0 {
		c.Add("scopes", "required", "A key needs at least one scope.")
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(tenantScopes, sc) {
			c.Add("scopes", "invalid", "Scopes are admin, read, scim, audit:read and ssf.")
			break
		}
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		c.Add("expires_at", "invalid", "The expiry must be in the future.")
	}
	if err := c.Err(); err != nil {
		return nil, "", err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	k := &store.APIKey{ID: id.String(), Tenant: tenant, Name: in.Name, Scopes: slices.Clone(in.Scopes),
		Hash: HashToken(token), Hint: token[:len(TokenPrefix)+4], CreatedAt: now}
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		k.ExpiresAt = &at
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if tenant != store.PlatformTenant {
			if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
				return err
			}
		}
		if err := tx.APIKeys().CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "apikey.create",
			TargetType: "apikey", TargetID: k.ID, Changes: events.Diff(nil, keyFields(k))})
	})
	if err != nil {
		return nil, "", err
	}
	return k, token, nil
}

func keyFields(k *store.APIKey) map[string]any {
	m := map[string]any{"name": k.Name, "scopes": k.Scopes, "hint": k.Hint}
	if k.ExpiresAt != nil {
		m["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
	}
	if k.RevokedAt != nil {
		m["revoked_at"] = k.RevokedAt.Format(time.RFC3339)
	}
	return m
}

// AuthenticateAPIKey returns the active key behind token, or ErrBadToken.
func (s *Service) AuthenticateAPIKey(ctx context.Context, token string) (*store.APIKey, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) != len(TokenPrefix)+43 {
		return nil, ErrBadToken
	}
	keys := s.Store.APIKeys()
	k, err := keys.GetAPIKeyByHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) && s.Placement != nil && s.Placement.PlatformKeys != nil {
		// A platform key of the catalogue database works in every
		// region; a tenant key there is another region's and does not.
		keys = s.Placement.PlatformKeys
		k, err = keys.GetAPIKeyByHash(ctx, HashToken(token))
		if err == nil && k.Tenant != store.PlatformTenant {
			return nil, ErrBadToken
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !k.Active(now) {
		return nil, ErrBadToken
	}
	// Best effort: a failed touch must not fail the request.
	_ = keys.TouchAPIKey(ctx, k.ID, now)
	return k, nil
}

// ListAPIKeys answers the tenant's keys (hashes are never exposed by the API).
func (s *Service) ListAPIKeys(ctx context.Context, tenant store.TenantID) ([]store.APIKey, error) {
	return s.Store.APIKeys().ListAPIKeys(ctx, tenant)
}

// RevokeAPIKey ends a key now. store.ErrNotFound when it is not the tenant's.
func (s *Service) RevokeAPIKey(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) (*store.APIKey, error) {
	return s.changeKey(ctx, actor, tenant, id, "apikey.revoke", func(k *store.APIKey, now time.Time) error {
		if k.RevokedAt == nil {
			k.RevokedAt = &now
		}
		return nil
	})
}

// ExpireAPIKey sets when a key stops working (now when at is nil).
func (s *Service) ExpireAPIKey(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, at *time.Time) (*store.APIKey, error) {
	return s.changeKey(ctx, actor, tenant, id, "apikey.expire", func(k *store.APIKey, now time.Time) error {
		t := now
		if at != nil {
			t = at.UTC().Truncate(time.Microsecond)
		}
		k.ExpiresAt = &t
		return nil
	})
}

func (s *Service) changeKey(ctx context.Context, actor events.Actor, tenant store.TenantID, id, action string, fn func(*store.APIKey, time.Time) error) (*store.APIKey, error) {
	var out *store.APIKey
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		now := s.now()
		k, err := tx.APIKeys().UpdateAPIKey(ctx, tenant, id, func(k *store.APIKey) error {
			before = keyFields(k)
			return fn(k, now)
		})
		if err != nil {
			return err
		}
		out = k
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action,
			TargetType: "apikey", TargetID: id, Changes: events.Diff(before, keyFields(k))})
	})
	return out, err
}
