package scim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// attrDef describes one attribute of the User or Group schema: its
// canonical spelling, JSON type, sub-attributes and mutability.
type attrDef struct {
	Name     string
	Type     string // string, boolean, complex, reference, dateTime
	Multi    bool
	ReadOnly bool
	Subs     []*attrDef
}

func (a *attrDef) sub(name string) *attrDef {
	for _, s := range a.Subs {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

func str(name string) *attrDef { return &attrDef{Name: name, Type: "string"} }

func multiValued(name string, subs ...string) *attrDef {
	a := &attrDef{Name: name, Type: "complex", Multi: true}
	for _, s := range subs {
		a.Subs = append(a.Subs, str(s))
	}
	a.Subs = append(a.Subs, &attrDef{Name: "primary", Type: "boolean"})
	return a
}

var userAttrs = &attrDef{Type: "complex", Subs: []*attrDef{
	{Name: "id", Type: "string", ReadOnly: true},
	str("externalId"),
	str("userName"),
	{Name: "name", Type: "complex", Subs: []*attrDef{str("formatted"), str("familyName"), str("givenName"),
		str("middleName"), str("honorificPrefix"), str("honorificSuffix")}},
	str("displayName"), str("nickName"), str("profileUrl"), str("title"), str("userType"),
	str("preferredLanguage"), str("locale"), str("timezone"),
	{Name: "active", Type: "boolean"},
	str("password"),
	multiValued("emails", "value", "type", "display"),
	multiValued("phoneNumbers", "value", "type", "display"),
	multiValued("addresses", "formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"),
	{Name: "groups", Type: "complex", Multi: true, ReadOnly: true, Subs: []*attrDef{str("value"), str("$ref"), str("display"), str("type")}},
	{Name: URIEnterprise, Type: "complex", Subs: []*attrDef{str("employeeNumber"), str("costCenter"), str("organization"),
		str("division"), str("department"),
		{Name: "manager", Type: "complex", Subs: []*attrDef{str("value"), str("$ref"), str("displayName")}}}},
	{Name: URIProfile, Type: "profile"},
	{Name: "meta", Type: "complex", ReadOnly: true},
	{Name: "schemas", Type: "string", Multi: true},
}}

var groupAttrs = &attrDef{Type: "complex", Subs: []*attrDef{
	{Name: "id", Type: "string", ReadOnly: true},
	str("externalId"),
	str("displayName"),
	{Name: "members", Type: "complex", Multi: true, Subs: []*attrDef{str("value"), str("$ref"), str("display"), str("type")}},
	{Name: "meta", Type: "complex", ReadOnly: true},
	{Name: "schemas", Type: "string", Multi: true},
}}

// Bounds on what a client may send.
const (
	maxValues = 100  // elements of a multi-valued attribute (members aside)
	maxString = 1024 // characters of one string value
)

// normalize checks v against def and answers it with canonical attribute
// names, booleans as bool ("True"/"False" strings accepted, as Entra ID
// sends them) and unknown attributes dropped (clients send extensions we
// do not keep). A wrong type is invalidValue.
func normalize(def *attrDef, v any, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if def.Multi {
		arr, ok := v.([]any)
		if !ok {
			// A single value where an array belongs: be tolerant.
			arr = []any{v}
		}
		if len(arr) > maxValues && def.Name != "members" {
			return nil, bad("invalidValue", fmt.Sprintf("%s holds at most %d values.", path, maxValues))
		}
		one := *def
		one.Multi = false
		out := make([]any, 0, len(arr))
		for _, e := range arr {
			n, err := normalize(&one, e, path)
			if err != nil {
				return nil, err
			}
			if n != nil {
				out = append(out, n)
			}
		}
		return out, nil
	}
	switch def.Type {
	case "profile":
		return normalizeProfile(v, path)
	case "complex":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("invalidValue", path+" must be an object.")
		}
		if def.Subs == nil { // meta: read-only, kept opaque
			return nil, nil
		}
		out := map[string]any{}
		for k, x := range m {
			sd := def.sub(k)
			if sd == nil {
				continue
			}
			n, err := normalize(sd, x, strings.TrimPrefix(path+"."+sd.Name, "."))
			if err != nil {
				return nil, err
			}
			if n != nil {
				out[sd.Name] = n
			}
		}
		return out, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if strings.EqualFold(x, "true") {
				return true, nil
			}
			if strings.EqualFold(x, "false") {
				return false, nil
			}
		}
		return nil, bad("invalidValue", path+" must be true or false.")
	default:
		switch x := v.(type) {
		case string:
			if len([]rune(x)) > maxString {
				return nil, bad("invalidValue", path+" is too long.")
			}
			return x, nil
		case json.Number:
			return x.String(), nil
		}
		return nil, bad("invalidValue", path+" must be a string.")
	}
}

// mergeDiff is the RFC 7396 merge patch that turns old into new.
func mergeDiff(old, new any) any {
	om, ok1 := old.(map[string]any)
	nm, ok2 := new.(map[string]any)
	if !ok1 || !ok2 {
		if new == nil {
			return nil
		}
		return new
	}
	out := map[string]any{}
	for k := range om {
		if _, ok := nm[k]; !ok {
			out[k] = nil
		}
	}
	for k, v := range nm {
		if ov, ok := om[k]; ok {
			if b1, _ := json.Marshal(ov); string(b1) == string(mustJSON(v)) {
				continue
			}
			out[k] = mergeDiff(ov, v)
		} else {
			out[k] = v
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
