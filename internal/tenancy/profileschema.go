package tenancy

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// ProfileSchemaOf answers the tenant's profile schema (empty when none).
func ProfileSchemaOf(t *store.Tenant) (profileschema.Schema, error) {
	set, err := ParseSettings(t.Settings)
	if err != nil {
		return profileschema.Schema{}, err
	}
	return set.ProfileSchema, nil
}

// checkProfileSchema validates sc, naming fields under prefix.
func checkProfileSchema(c *valid.Collector, prefix string, sc profileschema.Schema) {
	var ve *valid.Error
	if err := sc.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			c.Add(prefix+f.Field, f.Code, f.Message)
		}
	}
}

// SetProfileSchema replaces the tenant's profile schema, audited on the
// tenant's chain. Values users already hold are left as they are: the
// schema binds the next write of each field. Errors: *valid.Error naming
// the field (fields[2].type), store.ErrNotFound.
func (s *Service) SetProfileSchema(ctx context.Context, actor events.Actor, tenant store.TenantID, sc profileschema.Schema) (profileschema.Schema, error) {
	if sc.Fields == nil {
		sc.Fields = []profileschema.Field{}
	}
	if err := sc.Validate(); err != nil {
		return sc, err
	}
	var out *store.Tenant
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before profileschema.Schema
		t, err := tx.Tenants().UpdateTenant(ctx, tenant, func(t *store.Tenant) error {
			set, err := ParseSettings(t.Settings)
			if err != nil {
				return err
			}
			before = set.ProfileSchema
			set.ProfileSchema = sc
			raw, err := json.Marshal(set)
			if err != nil {
				return err
			}
			t.Settings = raw
			return nil
		})
		if err != nil {
			return err
		}
		out = t
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant,
			Action: "tenant.profile_schema", TargetType: "tenant", TargetID: string(tenant),
			Changes: events.Changes{"profile_schema": {Before: before, After: sc}}})
	})
	if err != nil {
		return sc, err
	}
	s.forgetSlug(out.Slug)
	return sc, nil
}
