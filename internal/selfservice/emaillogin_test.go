package selfservice_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// wrongCode is a 6-digit code that is not m's.
func wrongCode(m sent) string {
	if m.Code() == "000000" {
		return "111111"
	}
	return "000000"
}

// TestEmailCodeBruteForce: mass guessing of emailed codes. Every source
// address gets fresh tickets, but codes cannot be guessed at scale: a new
// ticket voids the earlier ones, no ticket is minted once the recipient's
// mail limit is spent, wrong codes are counted per user (past the limit
// every live code of the user dies and no new one is minted), and IPv6
// addresses of one /64 share one per-address bucket.
func TestEmailCodeBruteForce(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		tn := e.tenant(t, func(p *tenancy.SelfService) { p.Passwordless = true })
		p := pw
		admin := events.Actor{Type: "cli", ID: "t"}
		if _, err := e.svc.Directory.CreateUser(ctx, admin, tn.ID, directory.NewUser{Email: "ann@example.com", Password: &p}); err != nil {
			t.Fatal(err)
		}
		// A new ticket voids the earlier one: its code and link die.
		tk1, err := e.svc.StartEmailLogin(ctx, tn, "", "ann@example.com", "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		m1 := e.one(t, "magic", "ann@example.com")
		tk2, err := e.svc.StartEmailLogin(ctx, tn, "", "ann@example.com", "192.0.2.2", "")
		if err != nil {
			t.Fatal(err)
		}
		m2 := e.one(t, "magic", "ann@example.com")
		if _, err := e.svc.FinishEmailCode(ctx, tn, tk1, m1.Code(), ""); !errors.Is(err, selfservice.ErrWrongCode) {
			t.Fatalf("code of a voided ticket = %v, want ErrWrongCode", err)
		}
		if _, err := e.svc.FinishEmailLink(ctx, tn, m1.Token(), ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("link of a voided ticket = %v, want ErrInvalidToken", err)
		}
		// Wrong codes count per user across tickets: two tickets' worth
		// (5 + 5) reach the limit, the next wrong one locks.
		burn := func(tk string, m sent) {
			t.Helper()
			for i := range selfservice.CodeAttempts {
				if _, err := e.svc.FinishEmailCode(ctx, tn, tk, wrongCode(m), ""); !errors.Is(err, selfservice.ErrWrongCode) {
					t.Fatalf("wrong code %d: %v", i, err)
				}
			}
		}
		burn(tk2, m2)
		tk3, err := e.svc.StartEmailLogin(ctx, tn, "", "ann@example.com", "192.0.2.3", "")
		if err != nil {
			t.Fatal(err)
		}
		m3 := e.one(t, "magic", "ann@example.com")
		burn(tk3, m3)
		tk4, err := e.svc.StartEmailLogin(ctx, tn, "", "ann@example.com", "192.0.2.4", "")
		if err != nil {
			t.Fatal(err)
		}
		m4 := e.one(t, "magic", "ann@example.com")
		if _, err := e.svc.FinishEmailCode(ctx, tn, tk4, wrongCode(m4), ""); !errors.Is(err, selfservice.ErrWrongCode) {
			t.Fatal(err)
		}
		if _, err := e.svc.FinishEmailCode(ctx, tn, tk4, m4.Code(), ""); !errors.Is(err, selfservice.ErrWrongCode) {
			t.Fatalf("right code after %d wrong ones for the user = %v, want refused", 2*selfservice.CodeAttempts+1, err)
		}
		// While codes are locked, a request mails the link alone: the
		// owner still signs in, and there is no code to guess.
		tk5, err := e.svc.StartEmailLogin(ctx, tn, "", "ann@example.com", "192.0.2.5", "")
		if err != nil || tk5 == "" {
			t.Fatalf("start while locked: %q %v", tk5, err)
		}
		m5 := e.one(t, "magic", "ann@example.com")
		if m5.Code() != "" {
			t.Fatalf("a code was mailed while codes are locked: %q", m5.Code())
		}
		for _, c := range []string{"000000", "123456"} {
			if _, err := e.svc.FinishEmailCode(ctx, tn, tk5, c, ""); !errors.Is(err, selfservice.ErrWrongCode) {
				t.Fatalf("code %s for a link-only ticket = %v, want ErrWrongCode", c, err)
			}
		}
		if done, err := e.svc.FinishEmailLink(ctx, tn, m5.Token(), ""); err != nil || done.UserID == "" {
			t.Fatalf("link while codes are locked = %+v, %v; want the owner signed in", done, err)
		}

		// The recipient's hourly mail limit: once spent, no ticket is
		// minted (before, the token was written and only the mail dropped).
		if _, err := e.svc.Directory.CreateUser(ctx, admin, tn.ID, directory.NewUser{Email: "bea@example.com", Password: &p}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := e.svc.StartEmailLogin(ctx, tn, "", "bea@example.com", fmt.Sprintf("198.51.100.%d", i), ""); err != nil {
				t.Fatal(err)
			}
			e.one(t, "magic", "bea@example.com")
		}
		tk, err := e.svc.StartEmailLogin(ctx, tn, "", "bea@example.com", "198.51.100.9", "")
		if err != nil {
			t.Fatal(err)
		}
		if ms := e.mails(t); len(ms) != 0 {
			t.Fatalf("mail past the recipient limit: %d", len(ms))
		}
		if _, err := s.SelfService().OneTimeTokens().UseCode(ctx, tn.ID, tk, store.PurposeMagicLink, "", func([]byte) bool { return true }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ticket past the recipient limit holds a live token: %v", err)
		}

		// Per-address limit: IPv6 addresses of one /64 share it.
		var throttled *flow.ThrottledError
		for i := range 40 {
			_, err := e.svc.StartEmailLogin(ctx, tn, "", "nobody@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1), "")
			if errors.As(err, &throttled) {
				if i != 30 {
					t.Fatalf("throttled at request %d, want 31", i+1)
				}
				if _, err := e.svc.StartEmailLogin(ctx, tn, "", "nobody@example.com", "2001:db8:1:3::1", ""); err != nil {
					t.Fatalf("another /64: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		t.Fatal("addresses of one /64 never throttled")
	})
}
