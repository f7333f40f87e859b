package notice

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// TestEveryKindRendersInEveryLanguage: each registered kind has its own
// subject and intro in every language, and its mail renders with the
// "this was not me" sentence (with or without the link).
func TestEveryKindRendersInEveryLanguage(t *testing.T) {
	c := i18n.Default()
	r := &mail.Renderer{}
	for _, k := range All() {
		for _, lang := range i18n.Languages() {
			for _, part := range []string{"subject", "intro"} {
				if _, ok := c.Raw(lang, "mail."+k.Name+"."+part); !ok {
					t.Errorf("%s: no %s text in %s", k.Name, part, lang)
				}
			}
			link := ""
			if k.Secure {
				link = "https://id.example/t/acme/account/secure?token=gh_sa_x"
			}
			m, err := r.Render(k.Name, mail.Data{To: "a@example.com", Tenant: "Acme", Slug: "acme", Link: link, Language: lang})
			if err != nil {
				t.Fatalf("%s in %s: %v", k.Name, lang, err)
			}
			if k.Secure && !strings.Contains(m.Text, link) {
				t.Errorf("%s in %s: no link in %q", k.Name, lang, m.Text)
			}
		}
	}
	if k, ok := Lookup(NewDevice); !ok || k.Security {
		t.Errorf("new_device must be a mutable kind: %+v", k)
	}
	if k, ok := Lookup(FactorRemoved); !ok || !k.Security {
		t.Errorf("factor_removed must be a security kind: %+v", k)
	}
}
