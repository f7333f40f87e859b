package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// message is one catalog entry: a plain text, or texts by plural form.
//
// In a catalog a plural message is an object:
//
//	{"plural": "count", "=0": "No codes left.", "one": "{count} code left.", "other": "{count} codes left."}
//
// "plural" names the argument holding the number; the other members are
// texts keyed by a CLDR plural form (zero, one, two, few, many, other)
// or by an exact number ("=0"), which wins over the form. "other" is
// required and answers any form a language's entry lacks.
type message struct {
	text   string
	plural string
	forms  map[string]string
}

func (m *message) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.text)
	}
	var obj map[string]string
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	m.plural = obj["plural"]
	delete(obj, "plural")
	if m.plural == "" {
		return errors.New(`a plural message needs "plural", the argument to count by`)
	}
	for k := range obj {
		if _, ok := formOf(k); !ok && !isExact(k) {
			return fmt.Errorf("plural form %q: want one of zero, one, two, few, many, other or =N", k)
		}
	}
	if obj["other"] == "" {
		return errors.New(`a plural message needs an "other" form`)
	}
	m.forms = obj
	return nil
}

// isExact reports whether k is an exact-number form such as "=0".
func isExact(k string) bool {
	n, ok := strings.CutPrefix(k, "=")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}

// formNames are the catalog names of CLDR's plural forms, by form. (A
// function, not a map variable: the catalog is decoded while the
// package's variables are still being initialised.)
func formNames() [6]string {
	var n [6]string
	n[plural.Zero], n[plural.One], n[plural.Two] = "zero", "one", "two"
	n[plural.Few], n[plural.Many], n[plural.Other] = "few", "many", "other"
	return n
}

// formOf answers the CLDR plural form a catalog name stands for.
func formOf(name string) (plural.Form, bool) {
	for f, n := range formNames() {
		if n == name {
			return plural.Form(f), true
		}
	}
	return plural.Other, false
}

// formName is the catalog name of a CLDR plural form.
func formName(f plural.Form) string {
	if names := formNames(); int(f) < len(names) {
		return names[f]
	}
	return "other"
}

// form answers the text for the number args give m's plural argument
// ("other" when it is missing or not an integer).
func (m *message) form(lang string, args []any) string {
	n, ok := countArg(m.plural, args)
	if !ok {
		return m.forms["other"]
	}
	if s, ok := m.forms["="+strconv.FormatInt(n, 10)]; ok {
		return s
	}
	if s, ok := m.forms[PluralForm(lang, n)]; ok {
		return s
	}
	return m.forms["other"]
}

// PluralForm answers the CLDR plural form (zero, one, two, few, many or
// other) of the integer n in lang.
func PluralForm(lang string, n int64) string {
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.English
	}
	if n < 0 {
		n = -n
	}
	// Operands of an integer: no visible fraction digits.
	return formName(plural.Cardinal.MatchPlural(tag, int(n%10_000_000), 0, 0, 0, 0))
}

// countArg finds the integer value of the name, value pair called name.
func countArg(name string, args []any) (int64, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if fmt.Sprint(args[i]) != name {
			continue
		}
		switch v := args[i+1].(type) {
		case int:
			return int64(v), true
		case int64:
			return v, true
		case int32:
			return int64(v), true
		case uint:
			return int64(v), true
		default:
			n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Forms answers the texts of lang's plural message key by form, and the
// argument it counts by; nil for a plain message or a missing key.
func (c *Catalog) Forms(lang, key string) (forms map[string]string, countBy string) {
	m := c.msgs[lang][key]
	if m.forms == nil {
		return nil, ""
	}
	return maps.Clone(m.forms), m.plural
}
