package mail_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// The account page's two kinds render from their own catalog sentences in
// every language: subject, text and HTML, the link only where one is given.
func TestRenderAccountKinds(t *testing.T) {
	const link = "https://id.example/t/acme/account/email/confirm?token=gh_ec_abc"
	want := map[string]map[string][3]string{ // kind → lang → subject, intro fragment, action
		mail.KindEmailChange: {
			"en": {"Confirm your new email address for Acme", "for 60 minutes", "Confirm this address"},
			"de": {"Bestätigen Sie Ihre neue E-Mail-Adresse für Acme", "60 Minuten lang", "Diese Adresse bestätigen"},
			"es": {"Confirme su nueva dirección de correo para Acme", "durante 60 minutos", "Confirmar esta dirección"},
		},
		mail.KindEmailInUse: {
			"en": {"Someone tried to use your address at Acme", "another Acme account", "Sign in"},
			"de": {"Jemand wollte Ihre Adresse bei Acme verwenden", "anderen Kontos bei Acme", "Anmelden"},
			"es": {"Alguien intentó usar su dirección en Acme", "otra cuenta de Acme", "Iniciar sesión"},
		},
	}
	r := &mail.Renderer{}
	for kind, langs := range want {
		for lang, w := range langs {
			m, err := r.Render(kind, mail.Data{To: "ada@example.com", Tenant: "Acme", Slug: "acme", Link: link,
				Minutes: 60, Colour: "#aa0000", Language: lang})
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			if m.Subject != w[0] {
				t.Errorf("%s/%s subject = %q, want %q", kind, lang, m.Subject, w[0])
			}
			for name, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				if !strings.Contains(body, w[1]) || !strings.Contains(body, w[2]) || !strings.Contains(body, link) {
					t.Errorf("%s/%s %s lacks %q, %q or the link:\n%s", kind, lang, name, w[1], w[2], body)
				}
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) || !strings.Contains(m.HTML, "background:#aa0000") {
				t.Errorf("%s/%s html: language or colour missing", kind, lang)
			}
			if m.To != "ada@example.com" || m.Link != link {
				t.Errorf("%s/%s: to %q link %q", kind, lang, m.To, m.Link)
			}
		}
	}
	// Without a link there is no button and no action line.
	m, err := r.Render(mail.KindEmailInUse, mail.Data{To: "bob@example.com", Tenant: "Acme", Minutes: 60, Language: "en"})
	if err != nil || strings.Contains(m.Text, "Sign in") || strings.Contains(m.HTML, "href=") {
		t.Errorf("no link: %v\n%s\n%s", err, m.Text, m.HTML)
	}
}
