package account

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// DirMailer is the stand-in Mailer until internal/mail (the durable queue
// with SMTP) is wired: it writes each mail as a JSON file (mode 0600)
// under Dir, as the self-service design does with no SMTP configured, and
// logs only that a mail was written, never its link.
type DirMailer struct {
	Dir string
	// PublicURL makes the branding's logo URL absolute.
	PublicURL string
	Log       *slog.Logger
}

var _ Mailer = (*DirMailer)(nil)

// Send writes the mail to a new file in Dir.
func (m *DirMailer) Send(ctx context.Context, t *store.Tenant, to, kind, lang string, vars map[string]string) error {
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("account: mail dir: %w", err)
	}
	brand := tenancy.PresentationOf(t, m.PublicURL+"/t/"+t.Slug).Brand
	tr := i18n.Default().Translator(lang)
	k := "mail." + kind + "."
	text := tr(k+"intro", "tenant", vars["tenant"], "minutes", vars["minutes"]) + "\n\n" +
		tr(k+"action") + ": " + vars["link"] + "\n\n" + tr(k+"ignore")
	body, err := json.MarshalIndent(map[string]any{"tenant": t.Slug, "to": to, "kind": kind, "lang": lang,
		"from_name": brand.Name, "logo": brand.LogoURL, "color": brand.Color, "support": brand.SupportEmail,
		"subject": tr(k+"subject", "tenant", vars["tenant"]), "text": text, "link": vars["link"],
		"time": time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(m.Dir, uuid.Must(uuid.NewV7()).String()+".json")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("account: mail file: %w", err)
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("account: mail file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("account: mail file: %w", err)
	}
	if m.Log != nil {
		m.Log.InfoContext(ctx, "account: mail written", "kind", kind, "tenant", t.Slug, "file", name)
	}
	return nil
}
