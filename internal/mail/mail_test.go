package mail_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Every kind renders in every language: catalog sentences filled (no
// placeholder left), the link and code in both bodies, the HTML escaped.
func TestRenderEveryKindAndLanguage(t *testing.T) {
	r := &mail.Renderer{}
	for _, kind := range []string{mail.KindVerify, mail.KindReset, mail.KindMagic, mail.KindInvite, mail.KindExists} {
		for _, lang := range i18n.Languages() {
			m, err := r.Render(kind, mail.Data{To: "ada@example.com", Tenant: `Acme <b>&</b>`, Link: "https://id.example/t/acme/verify?token=gh_ml_x&y=1",
				Code: "012345", Minutes: 30, Language: lang})
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			for name, body := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
				if strings.Contains(body, "{tenant}") || strings.Contains(body, "{minutes}") || strings.Contains(body, "mail."+kind) {
					t.Errorf("%s/%s %s has an unfilled message: %q", kind, lang, name, body)
				}
			}
			if !strings.Contains(m.Text, "https://id.example/t/acme/verify?token=gh_ml_x&y=1") ||
				!strings.Contains(m.HTML, `href="https://id.example/t/acme/verify?token=gh_ml_x&amp;y=1"`) {
				t.Errorf("%s/%s: link missing:\n%s\n%s", kind, lang, m.Text, m.HTML)
			}
			if !strings.Contains(m.Text, "012345") || !strings.Contains(m.HTML, "012345") {
				t.Errorf("%s/%s: code missing", kind, lang)
			}
			if strings.Contains(m.HTML, "<b>&</b>") || !strings.Contains(m.HTML, "Acme &lt;b&gt;&amp;&lt;/b&gt;") {
				t.Errorf("%s/%s: tenant name not escaped in HTML", kind, lang)
			}
		}
	}
	de, _ := r.Render(mail.KindReset, mail.Data{To: "a@example.com", Tenant: "Acme", Language: "de", Minutes: 30})
	en, _ := r.Render(mail.KindReset, mail.Data{To: "a@example.com", Tenant: "Acme", Language: "xx", Minutes: 30})
	if de.Subject == en.Subject || !strings.Contains(en.Subject, "Reset your Acme password") {
		t.Errorf("language: de %q, fallback %q", de.Subject, en.Subject)
	}
	if _, err := r.Render("nope", mail.Data{}); err == nil {
		t.Error("an unknown kind rendered")
	}
}

// A tenant's override template replaces the default for its kind and
// language only.
func TestRenderTenantOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "acme", "verify.en.txt"), "ACME says: {{.Intro}} {{.Link}}")
	r := &mail.Renderer{Dir: dir}
	m, err := r.Render(mail.KindVerify, mail.Data{To: "a@example.com", Tenant: "Acme", Slug: "acme", Link: "L", Language: "en"})
	if err != nil || !strings.HasPrefix(m.Text, "ACME says: Welcome to Acme!") {
		t.Fatalf("override text = %q, %v", m.Text, err)
	}
	other, _ := r.Render(mail.KindVerify, mail.Data{To: "a@example.com", Tenant: "Other", Slug: "other", Link: "L", Language: "en"})
	de, _ := r.Render(mail.KindVerify, mail.Data{To: "a@example.com", Tenant: "Acme", Slug: "acme", Link: "L", Language: "de"})
	if strings.HasPrefix(other.Text, "ACME") || strings.HasPrefix(de.Text, "ACME") {
		t.Fatal("the override leaked to another tenant or language")
	}
	// A slug that could walk the file system is never used as a path.
	if m, _ := r.Render(mail.KindVerify, mail.Data{To: "a@example.com", Tenant: "X", Slug: "../acme", Link: "L", Language: "en"}); strings.HasPrefix(m.Text, "ACME") {
		t.Fatal("a slug with .. reached another tenant's templates")
	}
}

func openDB(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.DriverSQLite, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	s, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mkTenant(t *testing.T, s store.Store) store.TenantID {
	t.Helper()
	id := store.TenantID(uuid.Must(uuid.NewV7()).String())
	if err := s.Tenants().CreateTenant(t.Context(), &store.Tenant{ID: id, Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// The durability promise: a queued mail survives the process that queued
// it, a delivery that fails while the SMTP server is down, and a worker
// that dies holding it; it is delivered once the server is up, exactly
// once, through real SMTP to a real server.
func TestQueueSurvivesRestartAndServerDown(t *testing.T) {
	mp := mailpit.Start(t)
	mp.Stop() // the server is down to begin with
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	sealer := newSealer(t)
	db := openDB(t, path)
	tenant := mkTenant(t, db)
	q := &mail.Queue{Sealer: sealer}
	msg, err := (&mail.Renderer{}).Render(mail.KindReset, mail.Data{To: "ada@example.com", Tenant: "Acme",
		Link: "http://127.0.0.1/t/acme/password/reset?token=gh_ml_secret", Minutes: 30, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(t.Context(), db, tenant, mail.KindReset, msg)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := db.SelfService().MailQueue().GetMail(t.Context(), id)
	if strings.Contains(string(stored.Sealed), "gh_ml_secret") {
		t.Fatal("the queued mail's link is stored in the clear")
	}
	now := time.Now()
	clock := func() time.Time { return now }
	smtp := &mail.SMTP{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "Acme <id@acme.example>", TLS: mail.TLSAuto, Timeout: 5 * time.Second}
	w := &mail.Worker{Store: db, Sealer: sealer, Sender: smtp, Log: quiet, Now: clock, BaseBackoff: time.Minute}
	// 1. Server down: the attempt fails and is scheduled again.
	if n, err := w.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	m, _ := db.SelfService().MailQueue().GetMail(t.Context(), id)
	if m.Status != store.MailPending || m.Attempts != 1 || m.LastError == "" || !m.NextAttemptAt.After(now) {
		t.Fatalf("after a failed delivery: %+v", m)
	}
	// 2. The process ends (the database is closed) and a new one starts.
	db.Close()
	db = openDB(t, path)
	defer db.Close()
	now = now.Add(2 * time.Minute)
	// 3. A worker claims it and dies before delivering (no outcome written).
	if got, err := db.SelfService().MailQueue().ClaimMail(t.Context(), now, 2*time.Minute, 10); err != nil || len(got) != 1 {
		t.Fatalf("claim by the worker that dies: %v, %v", got, err)
	}
	mp.Restart(t)
	w = &mail.Worker{Store: db, Sealer: sealer, Sender: smtp, Log: quiet, Now: clock}
	// While its lease holds, nobody else sends it.
	if n, _ := w.RunOnce(t.Context()); n != 0 {
		t.Fatalf("a leased mail was claimed again (%d)", n)
	}
	now = now.Add(3 * time.Minute)
	if n, err := w.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunOnce after the lease = %d, %v", n, err)
	}
	got := mp.WaitFor(t, "ada@example.com", "Reset your Acme password", 10*time.Second)
	if !strings.Contains(got.Text, "gh_ml_secret") || !strings.Contains(got.HTML, "gh_ml_secret") {
		t.Fatalf("delivered mail lacks the link: %+v", got)
	}
	m, _ = db.SelfService().MailQueue().GetMail(t.Context(), id)
	if m.Status != store.MailSent || m.Sealed != nil || m.Attempts != 3 {
		t.Fatalf("after delivery: %+v", m)
	}
	now = now.Add(time.Hour)
	if n, _ := w.RunOnce(t.Context()); n != 0 {
		t.Fatal("a sent mail was claimed again")
	}
	if len(mp.Messages(t)) != 1 {
		t.Fatalf("mailpit has %d messages, want exactly 1", len(mp.Messages(t)))
	}
}

// A recipient the worker can never reach is given up after MaxAttempts,
// and a refused address (permanent) at once.
func TestWorkerGivesUp(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "gh.db"))
	defer db.Close()
	tenant := mkTenant(t, db)
	sealer := newSealer(t)
	q := &mail.Queue{Sealer: sealer}
	id, err := q.Enqueue(t.Context(), db, tenant, mail.KindMagic, mail.Message{To: "x@example.com", Subject: "s", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// A port nothing listens on.
	w := &mail.Worker{Store: db, Sealer: sealer, Log: quiet, Now: func() time.Time { return now }, MaxAttempts: 3,
		Sender: &mail.SMTP{Host: "127.0.0.1", Port: 1, From: "a@example.com", Timeout: time.Second}}
	for i := range 5 {
		_, _ = w.RunOnce(t.Context())
		now = now.Add(2 * time.Hour)
		m, _ := db.SelfService().MailQueue().GetMail(t.Context(), id)
		if want := store.MailPending; i < 2 && m.Status != want {
			t.Fatalf("attempt %d: %s, want %s", i+1, m.Status, want)
		}
	}
	m, _ := db.SelfService().MailQueue().GetMail(t.Context(), id)
	if m.Status != store.MailFailed || m.Attempts != 3 || m.Sealed != nil {
		t.Fatalf("after MaxAttempts: %+v", m)
	}
	if _, err := q.Enqueue(t.Context(), db, tenant, mail.KindMagic, mail.Message{To: "a@b.com\r\nBcc: evil@x.com", Subject: "s"}); err == nil {
		t.Fatal("a recipient with a header injection was queued")
	}
}

// FileSender (the default without SMTP) writes the mail and logs its link.
func TestFileSender(t *testing.T) {
	dir := t.TempDir()
	var logs strings.Builder
	f := &mail.FileSender{Dir: filepath.Join(dir, "mail"), From: "Acme <id@acme.example>",
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	err := f.Send(t.Context(), mail.Message{To: "ada@example.com", Subject: "Grüße", Text: "hello", HTML: "<p>hello</p>",
		Link: "http://127.0.0.1/t/acme/verify?token=gh_ml_abc"})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	body := read(t, files[0])
	if !strings.Contains(body, "To: ada@example.com") || !strings.Contains(body, "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=") {
		t.Fatalf("file:\n%s", body)
	}
	if !strings.Contains(logs.String(), "gh_ml_abc") || strings.Contains(logs.String(), "hello") {
		t.Fatalf("log should carry the link and nothing of the body: %s", logs.String())
	}
}
