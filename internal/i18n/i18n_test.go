package i18n

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestCatalogsComplete: every key of every catalog exists in all of them,
// with the same placeholders, and no message is empty.
func TestCatalogsComplete(t *testing.T) {
	c := Default()
	all := map[string]bool{}
	for _, lang := range Languages() {
		for _, k := range c.Keys(lang) {
			all[k] = true
		}
	}
	if len(all) < 50 {
		t.Fatalf("only %d keys: catalogs not loaded?", len(all))
	}
	for k := range all {
		en, ok := c.Raw(Fallback, k)
		if !ok {
			t.Errorf("%s: missing in %s", k, Fallback)
			continue
		}
		for _, lang := range Languages() {
			msg, ok := c.Raw(lang, k)
			switch {
			case !ok:
				t.Errorf("%s: missing in %s", k, lang)
			case msg == "":
				t.Errorf("%s: empty in %s", k, lang)
			case !slices.Equal(Placeholders(msg), Placeholders(en)):
				t.Errorf("%s: placeholders in %s %v, in %s %v", k, lang, Placeholders(msg), Fallback, Placeholders(en))
			}
			checkPlural(t, c, k, lang)
		}
	}
}

// checkPlural: a plural message is plural in every language, counts by
// the same argument, has a text for every CLDR form its language uses for
// 0 to 1000, and every form names the placeholders of English "other"
// (an exact form such as "=0" may leave the number out).
func checkPlural(t *testing.T, c *Catalog, key, lang string) {
	t.Helper()
	enForms, enBy := c.Forms(Fallback, key)
	forms, by := c.Forms(lang, key)
	if (enForms == nil) != (forms == nil) || by != enBy {
		t.Errorf("%s: plural in %s counts by %q, in %s by %q", key, lang, by, Fallback, enBy)
		return
	}
	if forms == nil {
		return
	}
	want := Placeholders(enForms["other"])
	if !slices.Contains(want, "{"+by+"}") {
		t.Errorf("%s: counts by %q but has no {%s}", key, by, by)
	}
	for form, msg := range forms {
		got := Placeholders(msg)
		if strings.HasPrefix(form, "=") {
			got = slices.DeleteFunc(slices.Clone(want), func(p string) bool { return p == "{"+by+"}" })
			if !slices.Equal(Placeholders(msg), got) && !slices.Equal(Placeholders(msg), want) {
				t.Errorf("%s %s %s: placeholders %v, want %v", key, lang, form, Placeholders(msg), want)
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s %s: placeholders %v, want %v", key, lang, form, got, want)
		}
	}
	for n := range int64(1001) {
		if f := PluralForm(lang, n); forms[f] == "" {
			t.Errorf("%s: %s has no %q form (needed for %d)", key, lang, f, n)
			return
		}
	}
}

// TestPlurals: counted messages take the form of the number in each
// language, by CLDR's rules.
func TestPlurals(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		lang  string
		count any
		want  string
	}{
		{"en", 0, "No recovery codes left."},
		{"en", 1, "1 recovery code left."},
		{"en", 2, "2 recovery codes left."},
		{"en", 21, "21 recovery codes left."},
		{"de", 0, "Keine Wiederherstellungscodes mehr."},
		{"de", 1, "Noch 1 Wiederherstellungscode."},
		{"de", 2, "Noch 2 Wiederherstellungscodes."},
		{"es", 0, "No quedan códigos de recuperación."},
		{"es", 1, "Queda 1 código de recuperación."},
		{"es", 2, "Quedan 2 códigos de recuperación."},
		{"es", "1", "Queda 1 código de recuperación."}, // a number given as text counts too
		{"fr", 1, "1 recovery code left."},             // English, and English's rules
	} {
		if got := c.Text(tc.lang, "mfa.recovery_left", "count", tc.count); got != tc.want {
			t.Errorf("%s, %v: %q, want %q", tc.lang, tc.count, got, tc.want)
		}
	}
	for _, tc := range []struct {
		lang    string
		minutes int
		want    string
	}{
		{"en", 1, "The link works for 1 minute."},
		{"en", 2, "The link works for 2 minutes."},
		{"de", 1, "Der Link gilt 1 Minute."},
		{"de", 0, "Der Link gilt 0 Minuten."},
		{"es", 1, "El enlace funciona durante 1 minuto."},
		{"es", 2, "El enlace funciona durante 2 minutos."},
	} {
		got := c.Text(tc.lang, "forgot.sent_body", "email", "a@example.com", "minutes", tc.minutes)
		if !strings.HasSuffix(got, tc.want) {
			t.Errorf("%s, %d minutes: %q, want it to end %q", tc.lang, tc.minutes, got, tc.want)
		}
	}
	// Without the count the message still reads (the "other" form).
	if got := c.Text("en", "mfa.recovery_left"); got != "{count} recovery codes left." {
		t.Errorf("no count: %q", got)
	}
}

func TestPluralForm(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int64
		want string
	}{
		{"en", 0, "other"}, {"en", 1, "one"}, {"en", 2, "other"},
		{"de", 0, "other"}, {"de", 1, "one"}, {"de", 2, "other"},
		{"es", 0, "other"}, {"es", 1, "one"}, {"es", 2, "other"},
		{"en", -1, "one"},
	} {
		if got := PluralForm(tc.lang, tc.n); got != tc.want {
			t.Errorf("PluralForm(%s, %d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}

// TestPluralCatalogErrors: a malformed plural message is refused when the
// catalog loads, not shown wrong later.
func TestPluralCatalogErrors(t *testing.T) {
	for _, bad := range []string{
		`{"one": "{n} item", "other": "{n} items"}`,            // no "plural"
		`{"plural": "n", "one": "{n} item"}`,                   // no "other"
		`{"plural": "n", "single": "x", "other": "{n} items"}`, // unknown form
		`{"plural": "n", "=x": "x", "other": "{n} items"}`,     // bad exact number
		`7`,
	} {
		var m message
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	var m message
	if err := json.Unmarshal([]byte(`{"plural": "n", "=0": "none", "one": "{n} item", "other": "{n} items"}`), &m); err != nil {
		t.Errorf("good plural: %v", err)
	}
}

// TestCatalogsTranslated: German and Spanish are not copies of English
// (a few words such as "Code" may be the same).
func TestCatalogsTranslated(t *testing.T) {
	c := Default()
	for _, lang := range []string{"de", "es"} {
		same := 0
		for _, k := range c.Keys(lang) {
			msg, _ := c.Raw(lang, k)
			if en, _ := c.Raw(Fallback, k); msg == en {
				same++
			}
		}
		if same > 3 {
			t.Errorf("%s: %d messages identical to English", lang, same)
		}
	}
}

func TestText(t *testing.T) {
	c := Default()
	if got := c.Text("de", "login.continue_to", "client", "Acme"); got != "Melden Sie sich an, um zu Acme zu gelangen." {
		t.Errorf("de login.continue_to = %q", got)
	}
	if got := c.Text("fr", "login.title"); got != "Sign in" {
		t.Errorf("unsupported language should fall back to English, got %q", got)
	}
	if got := c.Text("es", "no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q, want the key", got)
	}
	// A value that looks like a placeholder is not expanded again.
	if got := c.Text("en", "scope.other", "scope", "{scope}"); got != "Use {scope}" {
		t.Errorf("got %q", got)
	}
	// Mail footers name the support address in the sentence.
	if got := c.Text("de", "layout.support", "address", "hilfe@acme.example"); got != "Brauchen Sie Hilfe? Schreiben Sie an hilfe@acme.example." {
		t.Errorf("support line %q", got)
	}
	if got := c.Translator("es")("login.submit"); got != "Iniciar sesión" {
		t.Errorf("translator es = %q", got)
	}
}

func TestChoose(t *testing.T) {
	cases := []struct {
		ui     []string
		accept string
		tenant string
		want   string
	}{
		{nil, "", "", "en"},
		{nil, "", "de", "de"},
		{nil, "", "fr", "en"},
		{[]string{"es"}, "de-DE,de;q=0.9", "en", "es"},
		{[]string{"fr-CA", "de-AT"}, "es", "en", "de"},
		{[]string{"fr"}, "es-MX,es;q=0.9,en;q=0.5", "de", "es"},
		{[]string{"not a tag!"}, "de-CH", "", "de"},
		{nil, "fr-FR, fr;q=0.9", "es", "es"},
		{nil, "en-GB,en;q=0.9", "de", "en"},
		{nil, "*", "de", "de"},
		{nil, "garbage;;;q=x", "es", "es"},
		{nil, "zh-Hant, de;q=0.3", "", "de"},
	}
	for _, tc := range cases {
		if got := Choose(tc.ui, tc.accept, tc.tenant); got != tc.want {
			t.Errorf("Choose(%q, %q, %q) = %q, want %q", tc.ui, tc.accept, tc.tenant, got, tc.want)
		}
	}
}

func TestCatalogParts(t *testing.T) {
	base := `{"a.one":"One"}`
	fsys := fstest.MapFS{
		"catalogs/en.json":         {Data: []byte(base)},
		"catalogs/de.json":         {Data: []byte(`{"a.one":"Eins"}`)},
		"catalogs/es.json":         {Data: []byte(`{"a.one":"Uno"}`)},
		"catalogs/en.extra.json":   {Data: []byte(`{"b.two":"Two"}`)},
		"catalogs/de.extra.json":   {Data: []byte(`{"b.two":"Zwei"}`)},
		"catalogs/english.json":    {Data: []byte(`{"c.three":"not a part of en"}`)},
		"catalogs/es.extra.json":   {Data: []byte(`{"b.two":"Dos"}`)},
		"catalogs/en.extra.json.x": {Data: []byte(`{"d.four":"ignored"}`)},
	}
	c, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Text("de", "b.two"); got != "Zwei" {
		t.Errorf("part message: got %q", got)
	}
	if c.Has("c.three") || c.Has("d.four") {
		t.Errorf("files that are not parts of a language were read")
	}
	fsys["catalogs/en.dup.json"] = &fstest.MapFile{Data: []byte(`{"a.one":"again"}`)}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), `"a.one" defined twice`) {
		t.Errorf("duplicate key across parts: err = %v", err)
	}
}
