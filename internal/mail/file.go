package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"time"
)

// FileSender writes each mail as an .eml file into Dir (0700, files 0600)
// and logs its link: the default when no SMTP server is configured. The
// log line carries the file and the link, never the recipient's address
// (logs carry no email addresses; the file names its recipient).
type FileSender struct {
	Dir  string
	From string
	Log  *slog.Logger
	Now  func() time.Time
}

var _ Sender = (*FileSender)(nil)

// Send writes m to {Dir}/{time}-{random}.eml.
func (f *FileSender) Send(ctx context.Context, m Message) error {
	to, err := checkAddress(m.To)
	if err != nil {
		return &PermanentError{err}
	}
	from, err := mail.ParseAddress(f.From)
	if err != nil {
		from = &mail.Address{Address: "noreply@localhost"}
	}
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	body, err := compose(from, to, m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	rnd := make([]byte, 6)
	_, _ = rand.Read(rnd)
	path := filepath.Join(f.Dir, now.UTC().Format("20060102T150405.000000")+"-"+hex.EncodeToString(rnd)+".eml")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if f.Log != nil {
		f.Log.InfoContext(ctx, "mail written to a file (no SMTP server configured)", "file", path, "link", m.Link)
	}
	return nil
}
