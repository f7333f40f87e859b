package account

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestMailKeys: every account mail kind has its four catalog sentences
// (the i18n tests then hold them in every language).
func TestMailKeys(t *testing.T) {
	for _, kind := range []string{MailEmailChange, MailEmailInUse} {
		for _, part := range []string{"subject", "intro", "action", "ignore"} {
			if key := "mail." + kind + "." + part; !i18n.Default().Has(key) {
				t.Errorf("no catalog key %s", key)
			}
		}
	}
}

// TestDirMailer: one private file per mail, rendered in the language with
// the tenant's branding; the log names the file, never the link.
func TestDirMailer(t *testing.T) {
	var logs bytes.Buffer
	dir := filepath.Join(t.TempDir(), "mail")
	m := &DirMailer{Dir: dir, PublicURL: "https://id.example.com", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	tn := &store.Tenant{Slug: "acme", Name: "Acme", Settings: []byte(`{"branding":{"display_name":"Acme Kunden","support_email":"hilfe@acme.example"}}`)}
	const link = "https://id.example.com/t/acme/account/email/confirm?token=gh_ec_secret"
	if err := m.Send(context.Background(), tn, "ada@new.example", MailEmailChange, "de",
		map[string]string{"tenant": "Acme Kunden", "minutes": "60", "link": link}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	st, err := os.Stat(files[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v: %v", st.Mode(), err)
	}
	raw, _ := os.ReadFile(files[0])
	var mail struct{ To, Subject, Text, Link, Support string }
	if err := json.Unmarshal(raw, &mail); err != nil {
		t.Fatal(err)
	}
	if mail.To != "ada@new.example" || mail.Subject != "Bestätigen Sie Ihre neue E-Mail-Adresse für Acme Kunden" ||
		!strings.Contains(mail.Text, "60 Minuten") || !strings.Contains(mail.Text, link) || mail.Support != "hilfe@acme.example" {
		t.Errorf("mail %+v", mail)
	}
	if strings.Contains(logs.String(), "gh_ec_secret") || !strings.Contains(logs.String(), files[0]) {
		t.Errorf("log %q", logs.String())
	}
}
