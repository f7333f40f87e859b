// Package i18n holds the message catalogs of every page and mail in
// English, German and Spanish, and chooses a language for a request:
// OIDC ui_locales first, then the browser's Accept-Language, then the
// tenant's default. It knows nothing of HTTP or templates, so pages and
// mail share it. A key missing in one language falls back to English; the
// tests hold every catalog to the same keys and placeholders.
//
// A message that counts something has one text per plural form of its
// language, chosen by CLDR's rules (golang.org/x/text/feature/plural) from
// the argument its "plural" field names (plural.go).
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// Fallback is the language of last resort; its catalog is complete.
const Fallback = "en"

// supported lists the languages with a catalog, Fallback first (the
// matcher's default).
var supported = []language.Tag{language.English, language.German, language.Spanish}

var matcher = language.NewMatcher(supported)

//go:embed catalogs/*.json
var catalogFS embed.FS

// Catalog maps language -> key -> message. Messages carry named
// placeholders such as {client}, filled by Text's name/value pairs.
type Catalog struct {
	msgs map[string]map[string]message
}

var defaultCatalog = mustLoad()

// Default is the embedded catalog.
func Default() *Catalog { return defaultCatalog }

func mustLoad() *Catalog {
	c, err := load(catalogFS)
	if err != nil {
		panic(err.Error())
	}
	return c
}

// load reads each supported language's catalog: catalogs/<lang>.json and
// any catalogs/<lang>.<part>.json beside it (one part per capability, so
// capabilities add their messages without touching a shared file). A key
// defined twice for one language is an error.
func load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]message{}}
	for _, tag := range supported {
		lang := tag.String()
		parts, err := fs.Glob(fsys, path.Join("catalogs", lang+".*.json"))
		if err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %v", lang, err)
		}
		files := append([]string{path.Join("catalogs", lang+".json")}, parts...)
		m := map[string]message{}
		for _, f := range files {
			raw, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("i18n: catalog %s: %v", lang, err)
			}
			part := map[string]message{}
			if err := json.Unmarshal(raw, &part); err != nil {
				return nil, fmt.Errorf("i18n: catalog %s: %v", f, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("i18n: catalog %s: key %q defined twice", f, k)
				}
				m[k] = v
			}
		}
		c.msgs[lang] = m
	}
	return c, nil
}

// Languages answers the supported language codes, Fallback first.
func Languages() []string {
	out := make([]string, len(supported))
	for i, t := range supported {
		out[i] = t.String()
	}
	return out
}

// Tags answers the supported languages as tags (for discovery's
// ui_locales_supported).
func Tags() []language.Tag { return append([]language.Tag(nil), supported...) }

// Supported reports whether lang names a language with a catalog.
func Supported(lang string) bool {
	for _, t := range supported {
		if t.String() == lang {
			return true
		}
	}
	return false
}

// Keys answers the keys of lang's catalog, sorted.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.msgs[lang]))
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has reports whether the fallback catalog defines key.
func (c *Catalog) Has(key string) bool {
	_, ok := c.msgs[Fallback][key]
	return ok
}

// Raw answers lang's message for key as stored, and whether it exists. A
// plural message answers its "other" form; Forms answers all of them.
func (c *Catalog) Raw(lang, key string) (string, bool) {
	m, ok := c.msgs[lang][key]
	if m.forms != nil {
		return m.forms["other"], ok
	}
	return m.text, ok
}

// Text answers key's message in lang (English when lang lacks it; the key
// itself when no catalog has it, so a mistake shows rather than hides)
// with its placeholders filled from args, read as name, value pairs. A
// plural message takes the form for the number its plural argument holds.
// Values are plain text: HTML escaping is the template's job.
func (c *Catalog) Text(lang, key string, args ...any) string {
	m, ok := c.msgs[lang][key]
	if !ok {
		if m, ok = c.msgs[Fallback][key]; !ok {
			return key
		}
		lang = Fallback
	}
	msg := m.text
	if m.forms != nil {
		msg = m.form(lang, args)
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// Translator binds Text to one language; templates call it as t.
func (c *Catalog) Translator(lang string) func(key string, args ...any) string {
	return func(key string, args ...any) string { return c.Text(lang, key, args...) }
}

var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

// Placeholders answers the sorted placeholders of a message.
func Placeholders(msg string) []string {
	ph := placeholderRE.FindAllString(msg, -1)
	sort.Strings(ph)
	return ph
}

// Choose picks the language of a page or mail: the first of uiLocales (an
// OIDC ui_locales list, most preferred first) that has a catalog, else the
// best match for acceptLanguage (an Accept-Language header), else
// tenantDefault when supported, else Fallback. Unparsable input is skipped.
func Choose(uiLocales []string, acceptLanguage, tenantDefault string) string {
	for i, l := range uiLocales {
		if i >= 16 || len(l) > 35 {
			break
		}
		tag, err := language.Parse(l)
		if err != nil {
			continue
		}
		if _, idx, conf := matcher.Match(tag); conf >= language.High {
			return supported[idx].String()
		}
	}
	if acceptLanguage != "" && len(acceptLanguage) <= 512 {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			if _, idx, conf := matcher.Match(tags...); conf >= language.High {
				return supported[idx].String()
			}
		}
	}
	if Supported(tenantDefault) {
		return tenantDefault
	}
	return Fallback
}
