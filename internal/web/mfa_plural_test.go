package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/web/ui"
)

// TestRecoveryCodesLeftPlural: the account page counts recovery codes in
// the plural form of its language.
func TestRecoveryCodesLeftPlural(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		lang string
		left int
		want string
	}{
		{"en", 0, "No recovery codes left."},
		{"en", 1, "1 recovery code left."},
		{"en", 2, "2 recovery codes left."},
		{"de", 0, "Keine Wiederherstellungscodes mehr."},
		{"de", 1, "Noch 1 Wiederherstellungscode."},
		{"de", 2, "Noch 2 Wiederherstellungscodes."},
		{"es", 0, "No quedan códigos de recuperación."},
		{"es", 1, "Queda 1 código de recuperación."},
		{"es", 2, "Quedan 2 códigos de recuperación."},
	} {
		rec := httptest.NewRecorder()
		accountMFAPage.Render(rec, log, 200, tc.lang, mfaAccountView{
			Frame:     ui.Frame{Lang: tc.lang, TitleKey: "mfa.title", Base: "/t/acme"},
			Factors:   []mfa.FactorInfo{{Confirmed: true}},
			CodesLeft: tc.left,
		})
		if body := rec.Body.String(); !strings.Contains(body, ">"+tc.want+"</p>") {
			t.Errorf("%s, %d left: page lacks %q", tc.lang, tc.left, tc.want)
		}
	}
}
