package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// TestRecoveryCodesLeftPlural: the account page counts recovery codes
// through the catalog's plural message, so 0, 1 and 2 codes read
// differently in every language, the number aside (the texts themselves:
// i18n TestPlurals).
func TestRecoveryCodesLeftPlural(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, lang := range i18n.Languages() {
		seen := map[string]int{}
		for left := range 3 {
			want := i18n.Default().Text(lang, "mfa.recovery_left", "count", left)
			shape := strings.ReplaceAll(want, strconv.Itoa(left), "N")
			if n, dup := seen[shape]; dup {
				t.Errorf("%s: %d and %d codes left both read %q", lang, n, left, shape)
			}
			seen[shape] = left
			rec := httptest.NewRecorder()
			accountMFAPage.Render(rec, log, 200, lang, mfaAccountView{
				Frame:     ui.Frame{Lang: lang, TitleKey: "mfa.title", Base: "/t/acme"},
				Factors:   []mfa.FactorInfo{{Confirmed: true}},
				CodesLeft: left,
			})
			if body := rec.Body.String(); !strings.Contains(body, ">"+want+"</p>") {
				t.Errorf("%s, %d left: page lacks %q", lang, left, want)
			}
		}
	}
}
