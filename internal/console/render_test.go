package console

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// TestEveryTemplateCompiles: each console template compiles with the
// layout in every language (they compile on first use, so a broken one
// would otherwise only fail the first request for its page).
func TestEveryTemplateCompiles(t *testing.T) {
	if len(templates) < 10 {
		t.Fatalf("only %d templates registered", len(templates))
	}
	for _, tp := range templates {
		for _, lang := range i18n.Languages() {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s in %s: %v", tp.name, lang, r)
					}
				}()
				if tp.byLang[lang]().Lookup("content") == nil {
					t.Errorf("%s in %s: no \"content\" template", tp.name, lang)
				}
			}()
		}
	}
}
