package profileschema

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// phoneRE is an E.164-ish number: an optional +, digits, spaces, dashes,
// dots and parentheses, 4 to 32 characters with at least 4 digits.
var phoneRE = regexp.MustCompile(`^\+?[0-9 ().-]{4,32}$`)

// CheckValue checks one value written for f; field names it in the error
// (attributes.company). null is always allowed: it removes the value.
func CheckValue(c *valid.Collector, field string, f Field, v any) {
	if v == nil {
		return
	}
	if f.Type == TypeBool {
		if _, ok := v.(bool); !ok {
			c.Add(field, "invalid", "This field takes true or false.")
		}
		return
	}
	s, ok := v.(string)
	if !ok {
		c.Add(field, "invalid", "This field takes a string.")
		return
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > f.Limit() {
		c.Add(field, "too_long", fmt.Sprintf("At most %d characters.", f.Limit()))
		return
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		c.Add(field, "invalid", "No control characters.")
		return
	}
	switch f.Type {
	case TypeEnum:
		if !slices.Contains(f.Enum, s) {
			c.Add(field, "invalid_enum", "The value is not one of: "+strings.Join(f.Enum, ", ")+".")
		}
	case TypeEmail:
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
			c.Add(field, "invalid", "This field takes an email address.")
		}
	case TypePhone:
		digits := strings.Count(s, "") - 1 - len(strings.Trim(s, "0123456789"))
		if !phoneRE.MatchString(s) || digits < 4 {
			c.Add(field, "invalid", "This field takes a telephone number.")
		}
	case TypeDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			c.Add(field, "invalid", "This field takes a date as YYYY-MM-DD.")
		}
	}
}

// CheckAttributes checks the values of attrs under keys (every key of
// attrs when keys is nil) that the schema defines; other attributes are
// not the schema's. prefix names the object in errors ("attributes").
func (s Schema) CheckAttributes(c *valid.Collector, prefix string, attrs map[string]any, keys []string) {
	if keys == nil {
		for k := range attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	for _, k := range keys {
		f, ok := s.Find(k)
		if !ok {
			continue
		}
		CheckValue(c, prefix+"."+k, f, attrs[k])
	}
}

// Present reports whether attrs holds a value for f: a non-empty string,
// or any bool (false is an answer).
func Present(f Field, attrs map[string]any) bool {
	switch v := attrs[f.Name].(type) {
	case string:
		return strings.TrimSpace(v) != ""
	case bool:
		return true
	}
	return false
}

// FormValue turns what an HTML form sent for f into the value stored: a
// checkbox's presence is true, its absence false; text is trimmed ("" is
// nil: no value). It does not check the value (CheckValue does).
func FormValue(f Field, sent string, present bool) any {
	if f.Type == TypeBool {
		return present && sent != ""
	}
	sent = strings.TrimSpace(sent)
	if sent == "" {
		return nil
	}
	return sent
}

// InputType is the HTML input type of f ("select" for an enum).
func (f Field) InputType() string {
	switch f.Type {
	case TypeEmail:
		return "email"
	case TypePhone:
		return "tel"
	case TypeDate:
		return "date"
	case TypeBool:
		return "checkbox"
	case TypeEnum:
		return "select"
	}
	return "text"
}
