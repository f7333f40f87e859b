// Package connection manages a tenant's upstream identity providers
// (identity brokering, issue 9): generic OpenID Connect, OAuth 2.0 and
// SAML 2.0 connections and the presets for Google, Microsoft, Apple,
// Facebook and GitHub; their client secrets sealed with the master key; and
// the identities users linked through them. It knows nothing of HTTP: the
// API and the CLI manage connections through it, and internal/broker talks
// to the upstreams.
package connection

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

// ErrLastMethod: the identity is the user's last way to sign in (no
// password and no other identity), so it stays.
var ErrLastMethod = errors.New("connection: the last way to sign in cannot be removed")

// Service manages connections and linked identities.
type Service struct {
	Store  store.Store
	Audit  *events.Recorder
	Sealer *seal.Sealer
	Policy URLPolicy
	Now    func() time.Time
}

// NewConnection is the input of Create: the type, name and display name,
// the client secret (for Apple: the PEM of the .p8 signing key), and the
// settings, flat in the same JSON object.
type NewConnection struct {
	Type         string `json:"type"`
	Name         string `json:"name"`
	DisplayName  string `json:"display_name"`
	Enabled      *bool  `json:"enabled,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	Settings
}

// Patch changes the fields that are set; a list or the mapping replaces
// the whole one, "" restores a preset's value. The type is fixed.
type Patch struct {
	Name                  *string            `json:"name,omitempty"`
	DisplayName           *string            `json:"display_name,omitempty"`
	Enabled               *bool              `json:"enabled,omitempty"`
	ClientSecret          *string            `json:"client_secret,omitempty"`
	Issuer                *string            `json:"issuer,omitempty"`
	AuthorizationEndpoint *string            `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         *string            `json:"token_endpoint,omitempty"`
	UserinfoEndpoint      *string            `json:"userinfo_endpoint,omitempty"`
	EmailsEndpoint        *string            `json:"emails_endpoint,omitempty"`
	ClientID              *string            `json:"client_id,omitempty"`
	Scopes                *[]string          `json:"scopes,omitempty"`
	Mapping               *map[string]string `json:"mapping,omitempty"`
	ResponseMode          *string            `json:"response_mode,omitempty"`
	TeamID                *string            `json:"team_id,omitempty"`
	KeyID                 *string            `json:"key_id,omitempty"`
	MetadataURL           *string            `json:"metadata_url,omitempty"`
	MetadataXML           *string            `json:"metadata_xml,omitempty"`
	Domains               *[]string          `json:"domains,omitempty"`
	Clients               *[]string          `json:"clients,omitempty"`
	StoreTokens           *bool              `json:"store_tokens,omitempty"`
	TrustEmail            *bool              `json:"trust_email,omitempty"`
	// ClientSecretRef records where ClientSecret came from; a new
	// ClientSecret without it clears the reference.
	ClientSecretRef *string `json:"client_secret_ref,omitempty"`
	Mode            *string `json:"mode,omitempty"`
	MigrateUntil    *string `json:"migrate_until,omitempty"`
	URL             *string `json:"url,omitempty"`
	StartTLS        *bool   `json:"start_tls,omitempty"`
	BindDN          *string `json:"bind_dn,omitempty"`
	BaseDN          *string `json:"base_dn,omitempty"`
	UserFilter      *string `json:"user_filter,omitempty"`
	GroupBaseDN     *string `json:"group_base_dn,omitempty"`
	SyncInterval    *string `json:"sync_interval,omitempty"`
	Endpoint        *string `json:"endpoint,omitempty"`
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func aad(tenant store.TenantID, id, what string) []byte {
	return []byte(string(tenant) + "/" + id + "/" + what)
}

// Seal seals an upstream secret or token of row id of tenant.
func (s *Service) Seal(tenant store.TenantID, id, what string, plain []byte) ([]byte, error) {
	return s.Sealer.Seal(plain, aad(tenant, id, what))
}

// Open opens what Seal sealed.
func (s *Service) Open(tenant store.TenantID, id, what string, sealed []byte) ([]byte, error) {
	return s.Sealer.Open(sealed, aad(tenant, id, what))
}

// Secret answers the connection's client secret ("" when it has none).
func (s *Service) Secret(c *store.Connection) (string, error) {
	if len(c.SealedSecret) == 0 {
		return "", nil
	}
	b, err := s.Open(c.Tenant, c.ID, "client_secret", c.SealedSecret)
	return string(b), err
}

// SettingsOf answers the connection's effective settings.
func SettingsOf(c *store.Connection) (Settings, error) {
	st, err := Parse(c.Config)
	if err != nil {
		return Settings{}, err
	}
	return Effective(c.Type, st), nil
}

func (s *Service) validate(c *valid.Collector, conn *store.Connection, st Settings, secret *string) {
	has := len(conn.SealedSecret) > 0
	if secret != nil {
		has = *secret != ""
		if len(*secret) > 8192 {
			c.Add("client_secret", "too_long", "At most 8192 characters.")
		}
		if conn.Type == TypeApple && *secret != "" {
			if _, err := AppleKey(*secret); err != nil {
				c.Add("client_secret", "invalid", "For Apple, client_secret is the PEM of the .p8 key (an EC P-256 private key).")
			}
		}
	}
	s.Policy.check(c, conn.Type, conn.Name, conn.DisplayName, Effective(conn.Type, st), has)
}

// AppleKey parses Apple's .p8 key (PKCS #8, EC P-256).
func AppleKey(pemText string) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return nil, errors.New("connection: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve.Params().Name != "P-256" {
		return nil, errors.New("connection: not an EC P-256 key")
	}
	return ek, nil
}

// Create adds a connection to tenant. Errors: *valid.Error, *valid.Conflict
// (name taken), store.ErrNotFound (no such tenant).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewConnection) (*store.Connection, error) {
	now := s.now()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	conn := &store.Connection{ID: id.String(), Tenant: tenant, Name: in.Name, Type: in.Type, DisplayName: in.DisplayName,
		Enabled: in.Enabled == nil || *in.Enabled, Version: 1, CreatedAt: now, UpdatedAt: now}
	if conn.DisplayName == "" {
		conn.DisplayName = in.Name
	}
	if ProtocolOf(in.Type) == ProtoSAML && in.ClientSecret == "" {
		// The SP's own signing key and certificate (its metadata shows them).
		if in.ClientSecret, err = NewSAMLKey(in.Name, now); err != nil {
			return nil, err
		}
	}
	var c valid.Collector
	s.validate(&c, conn, in.Settings, &in.ClientSecret)
	if err := c.Err(); err != nil {
		return nil, err
	}
	if conn.Config, err = json.Marshal(in.Settings); err != nil {
		return nil, err
	}
	if in.ClientSecret != "" {
		if conn.SealedSecret, err = s.Seal(tenant, conn.ID, "client_secret", []byte(in.ClientSecret)); err != nil {
			return nil, err
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := tx.Connections().Connections().CreateConnection(ctx, conn); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "name", Cause: err}
			}
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "connection.create",
			TargetType: "connection", TargetID: conn.ID, Changes: events.Diff(nil, auditFields(conn))})
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// auditFields are what the audit log shows of a connection: never the
// secret, only whether there is one.
func auditFields(c *store.Connection) map[string]any {
	var cfg map[string]any
	_ = json.Unmarshal(c.Config, &cfg)
	return map[string]any{"name": c.Name, "type": c.Type, "display_name": c.DisplayName, "enabled": c.Enabled,
		"settings": cfg, "has_secret": len(c.SealedSecret) > 0}
}

func validID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return store.ErrNotFound
	}
	return nil
}

// Get answers store.ErrNotFound when id is not a connection of tenant.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*store.Connection, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.Store.Connections().Connections().GetConnection(ctx, tenant, id)
}

// ByName answers the tenant's connection called name (store.ErrNotFound).
func (s *Service) ByName(ctx context.Context, tenant store.TenantID, name string) (*store.Connection, error) {
	if !nameRE.MatchString(name) {
		return nil, store.ErrNotFound
	}
	return s.Store.Connections().Connections().GetConnectionByName(ctx, tenant, name)
}

// List answers a page of the tenant's connections in creation order.
func (s *Service) List(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Connection, error) {
	return s.Store.Connections().Connections().ListConnections(ctx, tenant, p)
}

// Enabled answers every enabled upstream identity provider of tenant (no
// legacy store), in creation order (at most 1,000: the login page shows
// buttons, not a directory).
func (s *Service) Enabled(ctx context.Context, tenant store.TenantID) ([]store.Connection, error) {
	return s.enabled(ctx, tenant, false)
}

// LegacyStores answers every enabled legacy store of tenant, in creation
// order (at most 1,000).
func (s *Service) LegacyStores(ctx context.Context, tenant store.TenantID) ([]store.Connection, error) {
	return s.enabled(ctx, tenant, true)
}

func (s *Service) enabled(ctx context.Context, tenant store.TenantID, legacy bool) ([]store.Connection, error) {
	all, err := s.List(ctx, tenant, store.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c store.Connection) bool { return !c.Enabled || IsLegacy(c.Type) != legacy }), nil
}

// Update applies p when version (if non-zero) is current and validates the
// result. Errors: *valid.Error, *valid.Conflict, store.ErrNotFound,
// store.ErrPrecondition.
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p Patch) (*store.Connection, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var out *store.Connection
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		conn, err := tx.Connections().Connections().UpdateConnection(ctx, tenant, id, func(conn *store.Connection) error {
			if version != 0 && version != conn.Version {
				return store.ErrPrecondition
			}
			before = auditFields(conn)
			st, err := Parse(conn.Config)
			if err != nil {
				return err
			}
			applyPatch(conn, &st, p)
			var c valid.Collector
			s.validate(&c, conn, st, p.ClientSecret)
			if err := c.Err(); err != nil {
				return err
			}
			if conn.Config, err = json.Marshal(st); err != nil {
				return err
			}
			if p.ClientSecret != nil {
				conn.SealedSecret = nil
				if *p.ClientSecret != "" {
					if conn.SealedSecret, err = s.Seal(tenant, id, "client_secret", []byte(*p.ClientSecret)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if errors.Is(err, store.ErrConflict) {
			return &valid.Conflict{Field: "name", Cause: err}
		}
		if err != nil {
			return err
		}
		out = conn
		changes := events.Diff(before, auditFields(conn))
		if p.ClientSecret != nil {
			changes["client_secret"] = events.Change{Before: "(redacted)", After: "(new)"}
		}
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "connection.update",
			TargetType: "connection", TargetID: id, Changes: changes})
	})
	return out, err
}

func applyPatch(conn *store.Connection, st *Settings, p Patch) {
	str := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	list := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = slices.Clone(*v)
		}
	}
	str(&conn.Name, p.Name)
	str(&conn.DisplayName, p.DisplayName)
	if p.Enabled != nil {
		conn.Enabled = *p.Enabled
	}
	str(&st.Issuer, p.Issuer)
	str(&st.AuthorizationEndpoint, p.AuthorizationEndpoint)
	str(&st.TokenEndpoint, p.TokenEndpoint)
	str(&st.UserinfoEndpoint, p.UserinfoEndpoint)
	str(&st.EmailsEndpoint, p.EmailsEndpoint)
	str(&st.ClientID, p.ClientID)
	str(&st.ResponseMode, p.ResponseMode)
	str(&st.TeamID, p.TeamID)
	str(&st.KeyID, p.KeyID)
	str(&st.MetadataURL, p.MetadataURL)
	str(&st.MetadataXML, p.MetadataXML)
	list(&st.Scopes, p.Scopes)
	list(&st.Domains, p.Domains)
	list(&st.Clients, p.Clients)
	if p.Mapping != nil {
		st.Mapping = *p.Mapping
	}
	if p.StoreTokens != nil {
		st.StoreTokens = *p.StoreTokens
	}
	if p.TrustEmail != nil {
		st.TrustEmail = *p.TrustEmail
	}
	if p.ClientSecret != nil {
		st.ClientSecretRef = ""
	}
	str(&st.ClientSecretRef, p.ClientSecretRef)
	str(&st.Mode, p.Mode)
	str(&st.MigrateUntil, p.MigrateUntil)
	str(&st.URL, p.URL)
	str(&st.BindDN, p.BindDN)
	str(&st.BaseDN, p.BaseDN)
	str(&st.UserFilter, p.UserFilter)
	str(&st.GroupBaseDN, p.GroupBaseDN)
	str(&st.SyncInterval, p.SyncInterval)
	str(&st.Endpoint, p.Endpoint)
	if p.StartTLS != nil {
		st.StartTLS = *p.StartTLS
	}
}

// Delete removes a connection and the identities linked through it.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		conn, err := tx.Connections().Connections().GetConnection(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Connections().Connections().DeleteConnection(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "connection.delete",
			TargetType: "connection", TargetID: id, Changes: events.Diff(auditFields(conn), nil)})
	})
}
