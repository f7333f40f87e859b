package configcode

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestSchemaFromTypes: the schema is the loader's shape: strict objects,
// the matching keys required, the tenant settings from tenancy.Settings,
// and no key for objects the format does not take yet.
func TestSchemaFromTypes(t *testing.T) {
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		ID         string                    `json:"$id"`
		Properties map[string]map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties           map[string]map[string]any `json:"properties"`
			Required             []string                  `json:"required"`
			AdditionalProperties *bool                     `json:"additionalProperties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "/api/v1/config.schema.json" || s.Properties["tenants"]["type"] != "array" {
		t.Errorf("root: %s %v", s.ID, s.Properties)
	}
	for name, key := range map[string]string{"Tenant": "slug", "Client": "name", "SAMLSP": "entity_id",
		"Connection": "name", "Role": "name", "Group": "name"} {
		d, ok := s.Defs[name]
		if !ok || !slices.Contains(d.Required, key) || d.AdditionalProperties == nil || *d.AdditionalProperties {
			t.Errorf("$defs.%s: %+v", name, d)
		}
	}
	tenant := s.Defs["Tenant"].Properties
	if tenant["settings"]["$ref"] != "#/$defs/tenancy.Settings" {
		t.Errorf("settings: %v", tenant["settings"])
	}
	for _, k := range []string{"webhooks", "hooks", "plans", "profile_schema", "consent_purposes", "risk"} {
		if _, ok := tenant[k]; ok {
			t.Errorf("the schema takes %s, which the format does not have yet", k)
		}
	}
	set := s.Defs["tenancy.Settings"]
	for _, k := range []string{"mfa", "branding", "self_service", "password_policy", "default_locale", "managed_by_config"} {
		if _, ok := set.Properties[k]; !ok {
			t.Errorf("tenancy.Settings lacks %s", k)
		}
	}
	if _, ok := s.Defs["tenancy.MFA"].Properties["policy"]; !ok {
		t.Errorf("tenancy.MFA: %+v", s.Defs["tenancy.MFA"])
	}
}
