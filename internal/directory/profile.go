package directory

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The tenant's profile schema binds every write of a user's attributes:
// a value under a field's name must fit the field (type, enum, length).
// On create every schema field present is checked; on update the keys the
// patch names, so a value stored before the schema changed does not block
// unrelated edits. Attributes the schema does not name stay free.

// profileSchema reads the tenant's schema through repos.
func profileSchema(ctx context.Context, repos store.Repos, tenant store.TenantID) (profileschema.Schema, error) {
	t, err := repos.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return profileschema.Schema{}, err
	}
	return tenancy.ProfileSchemaOf(t)
}

// checkProfile adds a problem per schema field in keys (nil: every key)
// whose value in attrs does not fit; attrs that are not a JSON object are
// checkAttributes' to report.
func checkProfile(c *valid.Collector, sc profileschema.Schema, attrs json.RawMessage, keys []string) {
	if len(sc.Fields) == 0 {
		return
	}
	var m map[string]any
	if json.Unmarshal(attrs, &m) != nil {
		return
	}
	sc.CheckAttributes(c, "attributes", m, keys)
}

// patchKeys answers the top-level keys a merge patch names.
func patchKeys(patch json.RawMessage) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(patch, &m) != nil {
		return []string{}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// CheckProfile validates the schema fields among attrs (a user's JSON
// attributes), for writers that do not go through CreateUser, such as
// bulk import. Errors: *valid.Error naming the field (attributes.tier).
func CheckProfile(sc profileschema.Schema, attrs json.RawMessage) error {
	var c valid.Collector
	checkProfile(&c, sc, attrs, nil)
	return c.Err()
}
