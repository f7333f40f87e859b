package i18n

import (
	"slices"
	"testing"
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
		}
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
