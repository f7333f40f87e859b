package scim

import (
	"encoding/json"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// URIProfile is Gatehouse's User extension carrying the tenant's profile
// schema fields (the user's top-level attributes of those names). A client
// sets them with POST and PUT; the directory checks each value against the
// schema, and a value that does not fit is invalidValue naming the
// attribute (urn:...:profile:2.0:User:tier). PATCH paths into the
// extension are not supported.
const URIProfile = "urn:gatehouse:params:scim:schemas:extension:profile:2.0:User"

var profileKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// maxProfileKeys bounds the extension's attributes in one request.
const maxProfileKeys = 50

// normalizeProfile keeps the extension's scalar values under their keys
// (the schema, not SCIM, decides their types); anything else is
// invalidValue.
func normalizeProfile(v any, path string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad("invalidValue", path+" must be an object.")
	}
	if len(m) > maxProfileKeys {
		return nil, bad("invalidValue", path+" has too many attributes.")
	}
	out := map[string]any{}
	for k, x := range m {
		if !profileKeyRE.MatchString(k) || k == "scim" {
			return nil, bad("invalidValue", path+":"+k+" is not a profile field.")
		}
		switch y := x.(type) {
		case nil:
		case string:
			if len([]rune(y)) > maxString {
				return nil, bad("invalidValue", path+":"+k+" is too long.")
			}
			out[k] = y
		case bool:
			out[k] = y
		case json.Number:
			out[k] = y.String()
		default:
			return nil, bad("invalidValue", path+":"+k+" must be a string or a boolean.")
		}
	}
	return out, nil
}

// profileDoc answers the schema fields u holds, for the extension.
func profileDoc(t *store.Tenant, u *store.User) map[string]any {
	sc, err := tenancy.ProfileSchemaOf(t)
	if err != nil || len(sc.Fields) == 0 {
		return nil
	}
	var attrs map[string]any
	if json.Unmarshal(u.Attributes, &attrs) != nil {
		return nil
	}
	out := map[string]any{}
	for _, f := range sc.Fields {
		if v, ok := attrs[f.Name]; ok && v != nil {
			out[f.Name] = v
		}
	}
	return out
}
