package selfservice_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

const pw = "correct horse battery"

func signUp(e *env, t *testing.T, tn *store.Tenant, email string) (string, error) {
	return e.svc.SignUp(t.Context(), tn, selfservice.SignUp{Email: email, Password: pw, Accepted: true, IP: "192.0.2.1", Lang: "en"})
}

func fieldCode(err error, field string) string {
	var ve *valid.Error
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == field {
				return f.Code
			}
		}
	}
	return ""
}

func TestSignUpPolicies(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		if _, err := signUp(e, t, e.tenant(t, nil), "a@example.com"); !errors.Is(err, selfservice.ErrSignupClosed) {
			t.Fatalf("default tenant: %v, want closed", err)
		}
		inv := e.tenant(t, func(p *tenancy.SelfService) { p.Signup = tenancy.SignupInviteOnly })
		if _, err := signUp(e, t, inv, "a@example.com"); !errors.Is(err, selfservice.ErrInviteOnly) {
			t.Fatalf("invite-only: %v", err)
		}
		tn := e.tenant(t, func(p *tenancy.SelfService) {
			open(p)
			p.TermsURL, p.TermsVersion = "https://acme.example/terms", "2026-03"
			p.PrivacyURL, p.PrivacyVersion = "https://acme.example/privacy", "7"
			p.BlockDisposable, p.BlockedDomains = true, []string{"rival.example"}
		})
		ctx := t.Context()
		cases := []struct {
			in          selfservice.SignUp
			field, code string
		}{
			{selfservice.SignUp{Email: "not an email", Password: pw, Accepted: true}, "email", "invalid"},
			{selfservice.SignUp{Email: "x@mailinator.com", Password: pw, Accepted: true}, "email", "blocked"},
			{selfservice.SignUp{Email: "x@eu.rival.example", Password: pw, Accepted: true}, "email", "blocked"},
			{selfservice.SignUp{Email: "x@example.com", Password: "short", Accepted: true}, "password", credential.ReasonTooShort},
			{selfservice.SignUp{Email: "x@example.com", Password: "password1234", Accepted: true}, "password", credential.ReasonCommon},
			{selfservice.SignUp{Email: "grace.hopper@example.com", Password: "grace.hopper@example.com!", Accepted: true}, "password", credential.ReasonContainsIdentifier},
			{selfservice.SignUp{Email: "x@example.com", Password: pw}, "accept", "required"},
		}
		for _, c := range cases {
			c.in.IP = "192.0.2.2"
			if _, err := e.svc.SignUp(ctx, tn, c.in); fieldCode(err, c.field) != c.code {
				t.Errorf("SignUp(%q, %q): %v, want %s %s", c.in.Email, c.in.Password, err, c.field, c.code)
			}
		}
		if n, _ := s.Users().CountUsers(ctx, tn.ID); n != 0 {
			t.Fatalf("refused sign-ups created %d users", n)
		}
		// The honeypot: success to the bot, nothing done.
		ticket, err := e.svc.SignUp(ctx, tn, selfservice.SignUp{Email: "bot@example.com", Password: pw, Accepted: true, Honeypot: "http://spam", IP: "192.0.2.3"})
		if err != nil || uuid.Validate(ticket) != nil {
			t.Fatalf("honeypot: %q, %v", ticket, err)
		}
		if n, _ := s.Users().CountUsers(ctx, tn.ID); n != 0 || len(e.mails(t)) != 0 {
			t.Fatal("a filled honeypot created a user or a mail")
		}
		// A real sign-up records the accepted versions, time and address.
		ticket, err = signUp(e, t, tn, "Ada@Example.com")
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Users().GetUserByEmail(ctx, tn.ID, "ada@example.com")
		if err != nil || u.EmailVerified || u.PasswordHash == "" || u.Email != "Ada@Example.com" {
			t.Fatalf("user %+v, %v", u, err)
		}
		acc, _ := s.SelfService().Acceptances().ListAcceptances(ctx, tn.ID, u.ID)
		if len(acc) != 2 || acc[0].IP != "192.0.2.1" || time.Since(acc[0].AcceptedAt) > time.Minute ||
			!slices.ContainsFunc(acc, func(a store.Acceptance) bool { return a.Document == "terms" && a.Version == "2026-03" }) ||
			!slices.ContainsFunc(acc, func(a store.Acceptance) bool { return a.Document == "privacy" && a.Version == "7" }) {
			t.Fatalf("acceptances %+v", acc)
		}
		m := e.one(t, "verify", "Ada@Example.com")
		if m.Code() == "" || !strings.HasPrefix(m.Link, "http://127.0.0.1:1/t/"+tn.Slug+"/verify?token=gh_ml_") {
			t.Fatalf("verification mail %+v", m)
		}
		// A wrong code counts; the right one verifies, once.
		if _, err := e.svc.VerifyCode(ctx, tn, ticket, "000000", "", ""); !errors.Is(err, selfservice.ErrWrongCode) && m.Code() != "000000" {
			t.Fatalf("wrong code: %v", err)
		}
		if _, err := e.svc.VerifyCode(ctx, tn, ticket, m.Code(), "192.0.2.1", ""); err != nil {
			t.Fatalf("right code: %v", err)
		}
		if u, _ := s.Users().GetUser(ctx, tn.ID, u.ID); !u.EmailVerified {
			t.Fatal("not verified after the right code")
		}
		if _, err := e.svc.VerifyLink(ctx, tn, m.Token(), "", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("the link still worked after the code: %v", err)
		}
	})
}

// Sign-up and reset must not tell whether an account exists: the same
// answer, the same mail count to the attacker (none), and similar time.
// The existing-address sign-up spends the password hash and mails the
// owner instead.
func TestNoEnumeration(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		// Realistic hashing, so the hash (which both paths spend) dominates.
		e := newEnv(t, s, credential.Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1})
		tn := e.tenant(t, open)
		ctx := t.Context()
		if _, err := signUp(e, t, tn, "owner@example.com"); err != nil {
			t.Fatal(err)
		}
		e.mails(t)
		const rounds = 6
		var newT, oldT, unknownT, knownT []time.Duration
		for i := range rounds {
			start := time.Now()
			tk, err := signUp(e, t, tn, "new"+string(rune('a'+i))+"@example.com")
			newT = append(newT, time.Since(start))
			if err != nil || uuid.Validate(tk) != nil {
				t.Fatalf("new sign-up: %q %v", tk, err)
			}
			start = time.Now()
			tk, err = signUp(e, t, tn, "owner@example.com")
			oldT = append(oldT, time.Since(start))
			if err != nil || uuid.Validate(tk) != nil {
				t.Fatalf("existing sign-up answered %q %v, want a ticket like any other", tk, err)
			}
			start = time.Now()
			err = e.svc.ForgotPassword(ctx, tn, "nobody"+string(rune('a'+i))+"@example.com", "192.0.2.9", "en")
			unknownT = append(unknownT, time.Since(start))
			if err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			err = e.svc.ForgotPassword(ctx, tn, "owner@example.com", "192.0.2.9", "en")
			knownT = append(knownT, time.Since(start))
			if err != nil {
				t.Fatal(err)
			}
		}
		// The owner got "someone tried to sign up" and reset mails (up to
		// the per-recipient hourly limit); unknown addresses got nothing.
		kinds := map[string]int{}
		for _, m := range e.mails(t) {
			if m.To == "owner@example.com" {
				kinds[m.Kind]++
			} else if m.Kind != "verify" {
				t.Errorf("mail %s to %s", m.Kind, m.To)
			}
		}
		if kinds["exists"] == 0 || kinds["exists"]+kinds["reset"] > 5 {
			t.Errorf("owner's mails %v (want the exists notice, at most 5 an hour)", kinds)
		}
		if n, _ := s.Users().CountUsers(ctx, tn.ID); n != 1+rounds {
			t.Errorf("%d users, want %d", n, 1+rounds)
		}
		ratio := func(a, b []time.Duration) float64 {
			return float64(median(a)) / float64(median(b))
		}
		t.Logf("sign-up: new %v, existing %v (ratio %.2f); reset: unknown %v, known %v (ratio %.2f), no padding",
			median(newT), median(oldT), ratio(newT, oldT), median(unknownT), median(knownT), ratio(unknownT, knownT))
		// Without padding both sign-up paths hash once: within a factor 3
		// (as the directory's login timing test allows on a shared machine).
		if r := ratio(newT, oldT); r > 3 || r < 1.0/3 {
			t.Errorf("sign-up timing new/existing = %.2f, want about 1", r)
		}
		// With the floor, reset's two paths (one writes, one does not) take
		// the same time to within a small fraction of it.
		e.svc.Floor = 300 * time.Millisecond
		var u2, k2 []time.Duration
		for i := range 4 {
			start := time.Now()
			_ = e.svc.ForgotPassword(ctx, tn, "nobody"+string(rune('a'+i))+"@example.com", "192.0.2.10", "en")
			u2 = append(u2, time.Since(start))
			start = time.Now()
			_ = e.svc.ForgotPassword(ctx, tn, "owner@example.com", "192.0.2.10", "en")
			k2 = append(k2, time.Since(start))
		}
		t.Logf("reset with a 300ms floor: unknown %v, known %v", median(u2), median(k2))
		if d := median(u2) - median(k2); median(u2) < 300*time.Millisecond || median(k2) < 300*time.Millisecond || d > 50*time.Millisecond || d < -50*time.Millisecond {
			t.Errorf("reset with floor: unknown %v, known %v", median(u2), median(k2))
		}
	})
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestResetPassword(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		tn := e.tenant(t, open)
		ctx := t.Context()
		u, err := e.svc.Directory.CreateUser(ctx, events.Actor{Type: "test"}, tn.ID, directory.NewUser{Email: "ada@example.com", Password: new(pw)})
		if err != nil {
			t.Fatal(err)
		}
		sess1, _, _ := e.sess.Create(ctx, tn.ID, u.ID, []string{"pwd"}, "ua", "192.0.2.1")
		sess2, _, _ := e.sess.Create(ctx, tn.ID, u.ID, []string{"pwd"}, "ua", "192.0.2.2")
		if err := e.svc.ForgotPassword(ctx, tn, "nobody@example.com", "192.0.2.1", ""); err != nil || len(e.mails(t)) != 0 {
			t.Fatalf("unknown address: %v or a mail was queued", err)
		}
		_ = e.svc.ForgotPassword(ctx, tn, "ADA@example.com", "192.0.2.1", "de")
		first := e.one(t, "reset", "ada@example.com")
		_ = e.svc.ForgotPassword(ctx, tn, "ada@example.com", "192.0.2.1", "")
		m := e.one(t, "reset", "ada@example.com")
		if !strings.Contains(first.Subject, "Passwort") {
			t.Errorf("the mail is not in the asked language: %q", first.Subject)
		}
		if err := e.svc.CheckResetLink(ctx, tn, first.Token()); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("an older reset link still works after a new one: %v", err)
		}
		// A refused password leaves the link usable.
		if _, err := e.svc.ResetPassword(ctx, tn, m.Token(), "ada@example.com", ""); fieldCode(err, "password") != credential.ReasonContainsIdentifier {
			t.Fatalf("weak password: %v", err)
		}
		if _, err := e.svc.ResetPassword(ctx, tn, m.Token(), "a new long passphrase", "192.0.2.1"); err != nil {
			t.Fatalf("reset: %v", err)
		}
		if _, err := e.svc.ResetPassword(ctx, tn, m.Token(), "another long passphrase", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("second use of the link: %v", err)
		}
		if live, _ := e.sess.List(ctx, tn.ID, u.ID); len(live) != 0 {
			t.Fatalf("sessions %s, %s survived the reset: %+v", sess1.ID, sess2.ID, live)
		}
		if _, err := e.svc.Directory.Authenticate(ctx, tn.ID, "ada@example.com", "a new long passphrase"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if _, err := e.svc.Directory.Authenticate(ctx, tn.ID, "ada@example.com", pw); err == nil {
			t.Fatal("the old password still works")
		}
		// Stored: only the hash of the link's token.
		other := e.tenant(t, open)
		if err := e.svc.CheckResetLink(ctx, other, m.Token()); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatal("a link works at another tenant")
		}
	})
}

func TestEmailLoginAndInvitation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		off := e.tenant(t, open)
		if _, err := e.svc.StartEmailLogin(ctx, off, "", "a@example.com", "192.0.2.1", ""); !errors.Is(err, selfservice.ErrPasswordless) {
			t.Fatalf("passwordless off: %v", err)
		}
		tn := e.tenant(t, func(p *tenancy.SelfService) { p.Passwordless = true })
		admin := events.Actor{Type: "apikey", ID: "k1"}
		inv, err := e.svc.Invite(ctx, admin, tn, selfservice.NewInvitation{Email: "lin@example.com", Locale: "es"})
		if err != nil {
			t.Fatal(err)
		}
		im := e.one(t, "invite", "lin@example.com")
		if !strings.Contains(im.Subject, "invitado") || time.Until(inv.ExpiresAt) < 6*24*time.Hour {
			t.Errorf("invitation %+v, mail %q", inv, im.Subject)
		}
		if _, err := e.svc.AcceptInvitation(ctx, tn, im.Token(), "lin's long passphrase", ""); err != nil {
			t.Fatalf("accept: %v", err)
		}
		u, _ := s.Users().GetUser(ctx, tn.ID, inv.UserID)
		if !u.EmailVerified || u.PasswordHash == "" {
			t.Fatalf("invited user after accepting: %+v", u)
		}
		if _, err := e.svc.Invite(ctx, admin, tn, selfservice.NewInvitation{Email: "lin@example.com"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("inviting a user with a password: %v", err)
		}
		// Unknown address: a ticket like any other, no mail.
		tk, err := e.svc.StartEmailLogin(ctx, tn, "req-1", "nobody@example.com", "192.0.2.1", "")
		if err != nil || uuid.Validate(tk) != nil || len(e.mails(t)) != 0 {
			t.Fatalf("unknown: %q %v", tk, err)
		}
		if _, err := e.svc.FinishEmailCode(ctx, tn, tk, "123456", ""); !errors.Is(err, selfservice.ErrWrongCode) {
			t.Fatalf("code of a fake ticket: %v", err)
		}
		tk, _ = e.svc.StartEmailLogin(ctx, tn, "req-2", "lin@example.com", "192.0.2.1", "")
		m := e.one(t, "magic", "lin@example.com")
		wrong := "000000"
		if m.Code() == wrong {
			wrong = "111111"
		}
		for range selfservice.CodeAttempts {
			if _, err := e.svc.FinishEmailCode(ctx, tn, tk, wrong, ""); !errors.Is(err, selfservice.ErrWrongCode) {
				t.Fatalf("wrong code: %v", err)
			}
		}
		if _, err := e.svc.FinishEmailCode(ctx, tn, tk, m.Code(), ""); !errors.Is(err, selfservice.ErrWrongCode) {
			t.Fatalf("the right code after %d wrong ones: %v, want refused", selfservice.CodeAttempts, err)
		}
		_, _ = e.svc.StartEmailLogin(ctx, tn, "req-3", "lin@example.com", "192.0.2.1", "")
		m = e.one(t, "magic", "lin@example.com")
		done, err := e.svc.FinishEmailLink(ctx, tn, m.Token(), "")
		if err != nil || done.UserID != inv.UserID || done.RequestID != "req-3" {
			t.Fatalf("link: %+v %v", done, err)
		}
		if _, err := e.svc.FinishEmailLink(ctx, tn, m.Token(), ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("second use: %v", err)
		}
	})
}

// Per-address limits hold, counted in the database.
func TestSignUpRateLimit(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		tn := e.tenant(t, open)
		var throttled *flow.ThrottledError
		for i := range 25 {
			_, err := e.svc.SignUp(t.Context(), tn, selfservice.SignUp{Email: "bad", Password: pw, IP: "198.51.100.7"})
			if errors.As(err, &throttled) {
				if i != 20 {
					t.Fatalf("throttled at attempt %d, want 21", i+1)
				}
				// Another address is not affected.
				if _, err := signUp(e, t, tn, "ok@example.com"); err != nil {
					t.Fatalf("another address: %v", err)
				}
				return
			}
		}
		t.Fatal("never throttled")
	})
}

// The mailed link verifies too, once, and only in its tenant.
func TestVerifyLink(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		tn, other := e.tenant(t, open), e.tenant(t, open)
		ctx := t.Context()
		if _, err := signUp(e, t, tn, "kay@example.com"); err != nil {
			t.Fatal(err)
		}
		first := e.one(t, "verify", "kay@example.com")
		// A resend (after a login refused for the unverified email) mails
		// a new link; the first one keeps working until one is used.
		if err := e.svc.ResendVerification(ctx, tn, "KAY@example.com", "es"); err != nil {
			t.Fatal(err)
		}
		m := e.one(t, "verify", "kay@example.com")
		if m.Token() == first.Token() || !strings.Contains(m.Subject, "Verifica") {
			t.Fatalf("resent mail %+v", m)
		}
		if err := e.svc.CheckResetLink(ctx, tn, first.Token()); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatal("a verification link passed as a reset link")
		}
		if _, err := e.svc.VerifyLink(ctx, other, m.Token(), "", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("link at another tenant: %v", err)
		}
		u, err := e.svc.VerifyLink(ctx, tn, m.Token(), "192.0.2.4", "")
		if err != nil || !u.EmailVerified {
			t.Fatalf("link: %+v %v", u, err)
		}
		if _, err := e.svc.VerifyLink(ctx, tn, m.Token(), "", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Fatalf("second use: %v", err)
		}
		// A verified user gets no more verification mails.
		if err := e.svc.ResendVerification(ctx, tn, "kay@example.com", ""); err != nil || len(e.mails(t)) != 0 {
			t.Fatalf("resend to a verified user: %v", err)
		}
		for _, bad := range []string{"", "gh_ml_", strings.Repeat("x", 100), m.Token() + "x"} {
			if _, err := e.svc.VerifyLink(ctx, tn, bad, "", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
	})
}
