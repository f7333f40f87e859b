package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// An email-change mail is durable: the request queues it in the database,
// sealed, and delivers nothing itself; a restarted server's worker
// delivers it, and its link still works there.
func TestAccountEmailChangeMailIsDurable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		tok := b.csrf("/t/acme/account")
		if p := b.post("/t/acme/account/email", form("csrf", tok, "email", "ada@new.example", "password", adaPW)); p.status != http.StatusSeeOther {
			t.Fatalf("email change: %d", p.status)
		}
		if files, _ := filepath.Glob(filepath.Join(f.ta.Config.DataDir, "mail", "*")); len(files) != 0 {
			t.Fatalf("delivered before the worker ran: %v", files)
		}

		// The queued row: kind and recipient in the clear, content sealed
		// and bound to the mail's id.
		ctx := context.Background()
		queued, err := f.ta.DB.SelfService().MailQueue().ClaimMail(ctx, time.Now(), time.Millisecond, 100)
		if err != nil || len(queued) != 1 {
			t.Fatalf("queued mails: %+v, %v", queued, err)
		}
		q := queued[0]
		if q.Kind != mail.KindEmailChange || q.To != "ada@new.example" || q.Tenant != f.tn.ID {
			t.Fatalf("queued mail: kind %q to %q tenant %v", q.Kind, q.To, q.Tenant)
		}
		for _, plain := range []string{"gh_ec_", "confirm?token", "Acme Shop"} {
			if bytes.Contains(q.Sealed, []byte(plain)) {
				t.Errorf("the queued mail holds %q in the clear", plain)
			}
		}
		if _, err := f.ta.sealer.Open(q.Sealed, []byte("mail:other-id")); err == nil {
			t.Error("the sealed mail opens under another mail's id")
		}
		raw, err := f.ta.sealer.Open(q.Sealed, []byte("mail:"+q.ID))
		if err != nil {
			t.Fatal(err)
		}
		var msg mail.Message
		if err := json.Unmarshal(raw, &msg); err != nil || !strings.Contains(msg.Link, "/t/acme/account/email/confirm?token=gh_ec_") {
			t.Fatalf("sealed message: %+v, %v", msg, err)
		}

		// The process stops before delivering (the claim above lapses);
		// a new one on the same database and key delivers the mail.
		if err := f.ta.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // past the 1ms lease
		again := openApp(t, f.ta.Config)
		mails := again.mails()
		if len(mails) != 1 || mails[0].To != "ada@new.example" || !strings.Contains(mails[0].Text, msg.Link) {
			t.Fatalf("delivered after the restart: %v", mails)
		}
		if m, err := again.DB.SelfService().MailQueue().GetMail(ctx, q.ID); err != nil || m.Status != store.MailSent || len(m.Sealed) != 0 {
			t.Fatalf("after delivery: %+v, %v", m, err)
		}
		token := msg.Link[strings.Index(msg.Link, "token=")+len("token="):]
		other := again.browser()
		page := other.get("/t/acme/account/email/confirm?token=" + token)
		m := csrfRE.FindStringSubmatch(page.body)
		if page.status != http.StatusOK || m == nil {
			t.Fatalf("confirm page after the restart: %d", page.status)
		}
		if p := other.post("/t/acme/account/email/confirm", form("csrf", m[1], "token", token)); p.status != http.StatusOK {
			t.Fatalf("confirm after the restart: %d", p.status)
		}
		if u, err := again.DB.Users().GetUser(ctx, f.tn.ID, f.ada.ID); err != nil || u.Email != "ada@new.example" {
			t.Fatalf("address after confirming: %+v, %v", u, err)
		}
	})
}

// Account mails share self-service's hourly limit per recipient: beyond
// it the request answers the same and the mail is dropped, so the page
// cannot flood an address.
func TestAccountMailRecipientLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		tok := b.csrf("/t/acme/account")
		for i := range 7 {
			// Case differs per request: the limit counts the normalized address.
			to := "Carol@Example.org"
			if i%2 == 1 {
				to = "carol@example.org"
			}
			if p := b.post("/t/acme/account/email", form("csrf", tok, "email", to, "password", adaPW)); p.status != http.StatusSeeOther ||
				!strings.Contains(p.location(), "done=email") {
				t.Fatalf("request %d: %d %q", i, p.status, p.location())
			}
		}
		if ms := f.ta.mails(); len(ms) != 5 {
			t.Fatalf("%d mails delivered, want the limit of 5", len(ms))
		}
		if !strings.Contains(f.ta.logs.String(), "over its hourly limit dropped") {
			t.Error("the dropped mail was not logged")
		}
	})
}
