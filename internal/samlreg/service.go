// Package samlreg registers a tenant's SAML 2.0 service providers: their
// entity ID, assertion consumer services, single logout endpoint,
// certificate, NameID format, attribute mapping and signing and
// encryption choices, from fields or from the provider's metadata. Every
// change is validated and audited. It knows nothing of HTTP; the API and
// the CLI call it, and the identity provider (internal/saml) reads what it
// stores.
package samlreg

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Service manages service provider registrations.
type Service struct {
	Store store.Store
	Audit *events.Recorder
	Now   func() time.Time
}

// NewSP is the input of Create. With Metadata (the provider's SAML
// metadata XML) the fields it describes are read from it; fields set here
// override it. SignAssertion and SignResponse default to true.
type NewSP struct {
	Name             string               `json:"name"`
	Metadata         string               `json:"metadata"`
	EntityID         string               `json:"entity_id"`
	ACS              []store.SAMLEndpoint `json:"acs"`
	SLOURL           string               `json:"slo_url"`
	SLOBinding       string               `json:"slo_binding"`
	Certificate      string               `json:"certificate"`
	NameIDFormat     string               `json:"name_id_format"`
	AttributeMapping map[string]string    `json:"attribute_mapping"`
	SignAssertion    *bool                `json:"sign_assertion"`
	SignResponse     *bool                `json:"sign_response"`
	EncryptAssertion bool                 `json:"encrypt_assertion"`
	RequestsSigned   *bool                `json:"authn_requests_signed"`
	// DefaultRelayState is the RelayState of IdP-initiated logins: an
	// absolute https URL or a relative path; "" for none.
	DefaultRelayState string `json:"default_relay_state"`
	// ConsentRequired: the user approves the attributes released to the
	// provider before its first assertion (the login's consent step).
	ConsentRequired bool `json:"consent_required"`
}

// Patch changes the fields that are set (JSON null is the same as absent).
// A list or map replaces the whole list or map.
type Patch struct {
	Name             *string               `json:"name,omitempty"`
	EntityID         *string               `json:"entity_id,omitempty"`
	ACS              *[]store.SAMLEndpoint `json:"acs,omitempty"`
	SLOURL           *string               `json:"slo_url,omitempty"`
	SLOBinding       *string               `json:"slo_binding,omitempty"`
	Certificate      *string               `json:"certificate,omitempty"`
	NameIDFormat     *string               `json:"name_id_format,omitempty"`
	AttributeMapping *map[string]string    `json:"attribute_mapping,omitempty"`
	SignAssertion    *bool                 `json:"sign_assertion,omitempty"`
	SignResponse     *bool                 `json:"sign_response,omitempty"`
	EncryptAssertion *bool                 `json:"encrypt_assertion,omitempty"`
	RequestsSigned   *bool                 `json:"authn_requests_signed,omitempty"`
	// DefaultRelayState: "" removes it.
	DefaultRelayState *string `json:"default_relay_state,omitempty"`
	ConsentRequired   *bool   `json:"consent_required,omitempty"`
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Create registers a service provider of tenant.
// Errors: *valid.Error, *valid.Conflict (entity_id taken), store.ErrNotFound (no such tenant).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewSP) (*store.SAMLServiceProvider, error) {
	var c valid.Collector
	sp := &store.SAMLServiceProvider{Tenant: tenant, SignAssertion: true, SignResponse: true}
	if in.Metadata != "" {
		md, err := ParseMetadata([]byte(in.Metadata))
		if err != nil {
			c.Add("metadata", "invalid", err.Error())
		} else {
			sp.EntityID, sp.ACS, sp.SLOURL, sp.SLOBinding = md.EntityID, md.ACS, md.SLOURL, md.SLOBinding
			sp.Certificate, sp.NameIDFormat, sp.RequestsSigned = md.Certificate, md.NameIDFormat, md.RequestsSigned
			sp.SignAssertion = sp.SignAssertion || md.WantAssertionsSigned
		}
	}
	apply(sp, Patch{
		Name: &in.Name, EntityID: nonEmpty(in.EntityID), SLOURL: nonEmpty(in.SLOURL), SLOBinding: nonEmpty(in.SLOBinding),
		Certificate: nonEmpty(in.Certificate), NameIDFormat: nonEmpty(in.NameIDFormat),
		SignAssertion: in.SignAssertion, SignResponse: in.SignResponse, RequestsSigned: in.RequestsSigned,
		EncryptAssertion: &in.EncryptAssertion, DefaultRelayState: nonEmpty(in.DefaultRelayState),
		ConsentRequired: &in.ConsentRequired,
	})
	if len(in.ACS) > 0 {
		sp.ACS = slices.Clone(in.ACS)
	}
	if in.AttributeMapping != nil {
		sp.AttributeMapping = maps.Clone(in.AttributeMapping)
	}
	normalise(sp)
	check(&c, sp)
	if err := c.Err(); err != nil {
		return nil, err
	}
	sp.ID = uuid.Must(uuid.NewV7()).String()
	now := s.now()
	sp.CreatedAt, sp.UpdatedAt = now, now
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := tx.SAML().ServiceProviders().CreateSP(ctx, sp); err != nil {
			return conflict(err)
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "saml_sp.create",
			TargetType: "saml_sp", TargetID: sp.ID, Changes: events.Diff(nil, auditFields(sp))})
	})
	if err != nil {
		return nil, err
	}
	return sp, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func conflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &valid.Conflict{Field: "entity_id", Cause: err}
	}
	return err
}

// validID: provider ids are UUIDv7 strings in canonical form; anything
// else names no provider (and never reaches a query).
func validID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return store.ErrNotFound
	}
	return nil
}

// Get answers store.ErrNotFound when id is not a provider of tenant.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*store.SAMLServiceProvider, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.Store.SAML().ServiceProviders().GetSP(ctx, tenant, id)
}

// List answers a page of the tenant's providers, in creation order. It is
// also the app launcher's list: each provider's IdP-initiated login starts
// at LaunchPath.
func (s *Service) List(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.SAMLServiceProvider, error) {
	return s.Store.SAML().ServiceProviders().ListSPs(ctx, tenant, p)
}

// LaunchPath is where a signed-in user starts an IdP-initiated login to sp
// (a POST with a CSRF token, or a GET link that confirms first; see
// internal/saml).
func LaunchPath(tenantSlug, spID string) string {
	return "/t/" + tenantSlug + "/saml/launch/" + spID
}

// Update applies p when version (if non-zero) is current; the whole
// registration is validated after the change.
// Errors: *valid.Error, *valid.Conflict, store.ErrNotFound, store.ErrPrecondition.
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p Patch) (*store.SAMLServiceProvider, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var out *store.SAMLServiceProvider
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		sp, err := tx.SAML().ServiceProviders().UpdateSP(ctx, tenant, id, func(sp *store.SAMLServiceProvider) error {
			if version != 0 && version != sp.Version {
				return store.ErrPrecondition
			}
			before = auditFields(sp)
			apply(sp, p)
			normalise(sp)
			var c valid.Collector
			check(&c, sp)
			return c.Err()
		})
		if err != nil {
			return conflict(err)
		}
		out = sp
		changes := events.Diff(before, auditFields(sp))
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "saml_sp.update",
			TargetType: "saml_sp", TargetID: id, Changes: changes})
	})
	return out, err
}

// Delete removes the provider, its pending requests and participations.
// Errors: store.ErrNotFound.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		sp, err := tx.SAML().ServiceProviders().GetSP(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.SAML().ServiceProviders().DeleteSP(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "saml_sp.delete",
			TargetType: "saml_sp", TargetID: id, Changes: events.Diff(auditFields(sp), nil)})
	})
}

func apply(sp *store.SAMLServiceProvider, p Patch) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&sp.Name, p.Name)
	set(&sp.EntityID, p.EntityID)
	set(&sp.SLOURL, p.SLOURL)
	set(&sp.SLOBinding, p.SLOBinding)
	set(&sp.Certificate, p.Certificate)
	set(&sp.NameIDFormat, p.NameIDFormat)
	set(&sp.DefaultRelayState, p.DefaultRelayState)
	setB(&sp.SignAssertion, p.SignAssertion)
	setB(&sp.SignResponse, p.SignResponse)
	setB(&sp.EncryptAssertion, p.EncryptAssertion)
	setB(&sp.RequestsSigned, p.RequestsSigned)
	setB(&sp.ConsentRequired, p.ConsentRequired)
	if p.ACS != nil {
		sp.ACS = slices.Clone(*p.ACS)
	}
	if p.AttributeMapping != nil {
		sp.AttributeMapping = maps.Clone(*p.AttributeMapping)
	}
}

// auditFields are what the audit records of a registration: everything
// but the certificate's text (its fingerprint instead).
func auditFields(sp *store.SAMLServiceProvider) map[string]any {
	return map[string]any{
		"name": sp.Name, "entity_id": sp.EntityID, "acs": sp.ACS, "slo_url": sp.SLOURL, "slo_binding": sp.SLOBinding,
		"certificate_sha256": CertFingerprint(sp.Certificate), "name_id_format": sp.NameIDFormat,
		"attribute_mapping": sp.AttributeMapping, "sign_assertion": sp.SignAssertion, "sign_response": sp.SignResponse,
		"encrypt_assertion": sp.EncryptAssertion, "authn_requests_signed": sp.RequestsSigned,
		"default_relay_state": sp.DefaultRelayState, "consent_required": sp.ConsentRequired,
	}
}
