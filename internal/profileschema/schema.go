// Package profileschema is a tenant's typed profile schema: the fields a
// user's profile holds (kept in the user's JSON attributes under the
// field's name), their types, labels per language, when the login asks for
// them (progressive profiling), and the checks of the schema itself and of
// values written against it. Pure functions: no storage, no HTTP.
package profileschema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Field types.
const (
	TypeString = "string"
	TypeEmail  = "email"
	TypePhone  = "phone"
	TypeDate   = "date"
	TypeBool   = "bool"
	TypeEnum   = "enum"
)

// Bounds on a schema.
const (
	MaxFields      = 50
	MaxEnum        = 100
	MaxLength      = 1000 // the largest max_length a field may declare
	DefaultLength  = 200  // max_length when a text field names none
	maxLabel       = 200
	maxRequiredAt  = 200
	maxSkippable   = 100
	maxAutocomplet = 100
)

// Schema is a tenant's profile schema.
type Schema struct {
	Fields []Field `json:"fields"`
}

// Field is one profile field.
type Field struct {
	// Name is the attribute key the value lives under.
	Name string   `json:"name"`
	Type string   `json:"type"`
	Enum []string `json:"enum,omitempty"`
	// Label is the field's label per language (en is the fallback).
	Label map[string]string `json:"label,omitempty"`
	// RequiredAt says when the login asks for the field: "signup",
	// "login:N", "client:<client_id>" or "scope:<scope>"; "" never.
	RequiredAt   string `json:"required_at,omitempty"`
	PII          bool   `json:"pii"`
	UserEditable bool   `json:"user_editable"`
	MaxLength    int    `json:"max_length,omitempty"`
	// Autocomplete is the HTML autocomplete token of the field's input.
	Autocomplete string `json:"autocomplete,omitempty"`
	// Skippable is how many times a user may skip the field when asked;
	// nil takes the default of its RequiredAt (DefaultSkippable).
	Skippable *int `json:"skippable,omitempty"`
	// ClaimScope, when set, limits the field's claim (through a client's
	// claim_mappings) to tokens whose scopes include it.
	ClaimScope string `json:"claim_scope,omitempty"`
}

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,128}$`)
	langRE  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	autoRE  = regexp.MustCompile(`^[a-z0-9-]+( [a-z0-9-]+)*$`)
)

// reserved are attribute keys other parts of Gatehouse keep in the same
// JSON object; a profile field may not take them over.
var reserved = map[string]bool{"scim": true}

// Requirement is a parsed RequiredAt.
type Requirement struct {
	Kind  string // "", "signup", "login", "client", "scope"
	Login int    // N of login:N
	Value string // the client id or scope
}

// ParseRequiredAt parses s ("" is no requirement).
func ParseRequiredAt(s string) (Requirement, error) {
	if s == "" {
		return Requirement{}, nil
	}
	if s == "signup" {
		return Requirement{Kind: "signup"}, nil
	}
	kind, v, ok := strings.Cut(s, ":")
	if !ok {
		return Requirement{}, fmt.Errorf("unknown")
	}
	switch kind {
	case "login":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 || strconv.Itoa(n) != v {
			return Requirement{}, fmt.Errorf("login:N takes N from 1 to 1000")
		}
		return Requirement{Kind: "login", Login: n}, nil
	case "client", "scope":
		if !tokenRE.MatchString(v) {
			return Requirement{}, fmt.Errorf("%s:<value> takes 1 to 128 letters, digits, _ . : / or -", kind)
		}
		return Requirement{Kind: kind, Value: v}, nil
	}
	return Requirement{}, fmt.Errorf("unknown")
}

// DefaultSkippable is how often a field may be skipped when the schema
// does not say: a login:N field once (skippable at sign-in N, mandatory
// from the next one on); signup, client and scope fields never.
func (f Field) DefaultSkippable() int {
	if req, _ := ParseRequiredAt(f.RequiredAt); req.Kind == "login" {
		return 1
	}
	return 0
}

// SkipLimit is how often the field may be skipped.
func (f Field) SkipLimit() int {
	if f.Skippable != nil {
		return *f.Skippable
	}
	return f.DefaultSkippable()
}

// Limit is the field's maximum length in characters.
func (f Field) Limit() int {
	if f.MaxLength > 0 {
		return f.MaxLength
	}
	return DefaultLength
}

// Find answers the field named name.
func (s Schema) Find(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Validate checks the schema and names every problem by its path
// (fields[2].type). Errors: *valid.Error.
func (s Schema) Validate() error {
	var c valid.Collector
	if len(s.Fields) > MaxFields {
		c.Add("fields", "too_many", fmt.Sprintf("A schema has at most %d fields.", MaxFields))
		return c.Err()
	}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		p := fmt.Sprintf("fields[%d].", i)
		switch {
		case !nameRE.MatchString(f.Name):
			c.Add(p+"name", "invalid", "A field name has 1 to 64 lower-case letters, digits or _, starting with a letter.")
		case reserved[f.Name]:
			c.Add(p+"name", "reserved", "This name is kept for other attributes.")
		case seen[f.Name]:
			c.Add(p+"name", "duplicate", "Another field has this name.")
		}
		seen[f.Name] = true
		switch f.Type {
		case TypeString, TypeEmail, TypePhone, TypeDate, TypeBool:
			if len(f.Enum) > 0 {
				c.Add(p+"enum", "invalid", "Only an enum field takes enum values.")
			}
		case TypeEnum:
			checkEnum(&c, p, f.Enum)
		default:
			c.Add(p+"type", "invalid", "The type is one of string, email, phone, date, bool, enum.")
		}
		if len(f.Label) == 0 {
			c.Add(p+"label", "required", "A field needs a label, at least in English (en).")
		} else if f.Label["en"] == "" {
			c.Add(p+"label.en", "required", "A field needs an English label (the fallback).")
		}
		for lang, l := range f.Label {
			if !langRE.MatchString(lang) {
				c.Add(p+"label", "invalid", "Labels are keyed by language tags such as en, de, es.")
			} else if !cleanText(l, maxLabel) {
				c.Add(p+"label."+lang, "invalid", "A label has 1 to 200 characters, no control characters.")
			}
		}
		if _, err := ParseRequiredAt(f.RequiredAt); err != nil || len(f.RequiredAt) > maxRequiredAt {
			c.Add(p+"required_at", "invalid", "required_at is signup, login:N, client:<client_id> or scope:<scope>.")
		}
		if f.MaxLength < 0 || f.MaxLength > MaxLength {
			c.Add(p+"max_length", "invalid", fmt.Sprintf("max_length is from 1 to %d.", MaxLength))
		}
		if f.Autocomplete != "" && (len(f.Autocomplete) > maxAutocomplet || !autoRE.MatchString(f.Autocomplete)) {
			c.Add(p+"autocomplete", "invalid", "autocomplete is an HTML autocomplete token such as organization.")
		}
		if f.Skippable != nil && (*f.Skippable < 0 || *f.Skippable > maxSkippable) {
			c.Add(p+"skippable", "invalid", fmt.Sprintf("skippable is from 0 to %d.", maxSkippable))
		}
		if f.ClaimScope != "" && !tokenRE.MatchString(f.ClaimScope) {
			c.Add(p+"claim_scope", "invalid", "claim_scope is a scope: 1 to 128 letters, digits, _ . : / or -.")
		}
	}
	return c.Err()
}

func checkEnum(c *valid.Collector, p string, enum []string) {
	if len(enum) == 0 || len(enum) > MaxEnum {
		c.Add(p+"enum", "invalid", fmt.Sprintf("An enum field lists 1 to %d values.", MaxEnum))
		return
	}
	seen := map[string]bool{}
	for j, v := range enum {
		switch {
		case !cleanText(v, maxLabel):
			c.Add(fmt.Sprintf("%senum[%d]", p, j), "invalid", "An enum value has 1 to 200 characters, no control characters.")
		case seen[v]:
			c.Add(fmt.Sprintf("%senum[%d]", p, j), "duplicate", "This value is listed twice.")
		}
		seen[v] = true
	}
}

// cleanText: valid UTF-8, 1 to max characters, no control characters, not
// only spaces.
func cleanText(s string, max int) bool {
	if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// LabelFor answers the field's label in lang (a language tag), falling
// back to its base language, then English, then the name.
func (f Field) LabelFor(lang string) string {
	if l := f.Label[lang]; l != "" {
		return l
	}
	if base, _, ok := strings.Cut(lang, "-"); ok && f.Label[base] != "" {
		return f.Label[base]
	}
	if l := f.Label["en"]; l != "" {
		return l
	}
	return f.Name
}
