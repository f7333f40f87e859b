package provision

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// DefaultMapping is what a target receives unless its attribute_mapping
// says otherwise: each SCIM attribute path maps to a user field.
var DefaultMapping = map[string]string{
	"userName":        "email",
	"externalId":      "id",
	"name.givenName":  "given_name",
	"name.familyName": "family_name",
	"emails":          "email",
	"locale":          "locale",
}

// userFields are the sources a mapping may name besides
// "attributes.<name>" (a custom profile attribute).
var userFields = map[string]func(u *store.User) string{
	"id":          func(u *store.User) string { return u.ID },
	"email":       func(u *store.User) string { return u.Email },
	"username":    func(u *store.User) string { return u.Username },
	"given_name":  func(u *store.User) string { return u.GivenName },
	"family_name": func(u *store.User) string { return u.FamilyName },
	"phone":       func(u *store.User) string { return u.Phone },
	"locale":      func(u *store.User) string { return u.Locale },
	"display_name": func(u *store.User) string {
		if n := strings.TrimSpace(u.GivenName + " " + u.FamilyName); n != "" {
			return n
		}
		return u.Email
	},
}

const maxMappings = 50

var (
	// scimPath: an attribute or attribute.sub, optionally behind an
	// extension schema's URN ("urn:...:User:department").
	scimPath   = regexp.MustCompile(`^(urn:[A-Za-z0-9.:_-]+:)?[A-Za-z][A-Za-z0-9_]{0,63}(\.[A-Za-z][A-Za-z0-9_]{0,63})?$`)
	attrSource = regexp.MustCompile(`^attributes\.[A-Za-z0-9_.-]{1,64}$`)
	// reserved attributes are Gatehouse's to set.
	reserved = []string{"id", "schemas", "meta", "active", "groups", "password", "members"}
)

// checkMapping validates a target's attribute_mapping: SCIM paths to user
// fields, "" dropping a default.
func checkMapping(c *valid.Collector, m map[string]string) {
	if len(m) > maxMappings {
		c.Add("attribute_mapping", "too_long", "At most 50 attributes.")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		root := strings.ToLower(strings.SplitN(k[strings.LastIndex(k, ":")+1:], ".", 2)[0])
		switch {
		case len(k) > 200 || !scimPath.MatchString(k):
			c.Add("attribute_mapping", "invalid", "A key is a SCIM attribute path such as title or name.givenName.")
			return
		case slices.Contains(reserved, root):
			c.Add("attribute_mapping", "invalid", "Gatehouse sets "+root+" itself.")
			return
		case v == "" || userFields[v] != nil || attrSource.MatchString(v):
		default:
			c.Add("attribute_mapping", "invalid", "A value is a user field (id, email, username, given_name, "+
				"family_name, display_name, phone, locale), attributes.<name>, or \"\" to send nothing.")
			return
		}
	}
}

// effective answers the defaults overlaid with the target's mapping.
func effective(m map[string]string) map[string]string {
	out := maps.Clone(DefaultMapping)
	for k, v := range m {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// source answers the value of a mapping's source for u (nil when empty).
func source(u *store.User, attrs map[string]any, src string) any {
	if f := userFields[src]; f != nil {
		if v := f(u); v != "" {
			return v
		}
		return nil
	}
	if name, ok := strings.CutPrefix(src, "attributes."); ok {
		return attrs[name]
	}
	return nil
}

// userDoc renders u as a SCIM User for a target: its mapped attributes
// and active.
func userDoc(u *store.User, mapping map[string]string, active bool) map[string]any {
	var attrs map[string]any
	_ = json.Unmarshal(u.Attributes, &attrs) // a user's attributes are a JSON object
	doc := map[string]any{"schemas": []string{uriUser}, "active": active}
	for _, path := range slices.Sorted(maps.Keys(mapping)) {
		v := source(u, attrs, mapping[path])
		if v == nil {
			continue
		}
		target := doc
		if i := strings.LastIndex(path, ":"); i >= 0 {
			urn := path[:i]
			ext, _ := doc[urn].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				doc[urn] = ext
				doc["schemas"] = append(doc["schemas"].([]string), urn)
			}
			target, path = ext, path[i+1:]
		}
		attr, sub, dotted := strings.Cut(path, ".")
		switch {
		case dotted:
			m, _ := target[attr].(map[string]any)
			if m == nil {
				m = map[string]any{}
				target[attr] = m
			}
			m[sub] = v
		case attr == "emails" || attr == "phoneNumbers":
			target[attr] = []any{map[string]any{"value": v, "type": "work", "primary": true}}
		default:
			target[attr] = v
		}
	}
	return doc
}
