package selfservice_test

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestEmailChangeEndsMailedTickets: reset, sign-in, verification and
// second-factor code tickets mailed to the old address stop working when
// the address changes.
func TestEmailChangeEndsMailedTickets(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		tn := e.tenant(t, func(p *tenancy.SelfService) { p.Passwordless = true })
		p := pw
		admin := events.Actor{Type: "cli", ID: "t"}
		u, err := e.svc.Directory.CreateUser(ctx, admin, tn.ID, directory.NewUser{Email: "old@example.com", Password: &p})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ForgotPassword(ctx, tn, "old@example.com", "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
		reset := e.one(t, "reset", "old@example.com")
		if _, err := e.svc.StartEmailLogin(ctx, tn, "", "old@example.com", "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
		magic := e.one(t, "magic", "old@example.com")
		if err := e.svc.ResendVerification(ctx, tn, "old@example.com", ""); err != nil {
			t.Fatal(err)
		}
		verify := e.one(t, "verify", "old@example.com")
		now := time.Now()
		mfaHash := sha256.Sum256([]byte("mfa code ticket"))
		if err := s.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{ID: uuid.Must(uuid.NewV7()).String(),
			Tenant: tn.ID, Purpose: store.PurposeMFAEmailCode, UserID: u.ID, Hash: mfaHash[:], CreatedAt: now,
			ExpiresAt: now.Add(10 * time.Minute)}); err != nil {
			t.Fatal(err)
		}

		addr := "new@example.com"
		if _, err := e.svc.Directory.UpdateUser(ctx, admin, tn.ID, u.ID, 0, directory.UserPatch{Email: &addr}); err != nil {
			t.Fatal(err)
		}

		if err := e.svc.CheckResetLink(ctx, tn, reset.Token()); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Errorf("reset link to the old address after the change: %v", err)
		}
		if _, err := e.svc.VerifyLink(ctx, tn, verify.Token(), "192.0.2.1", ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Errorf("verification link to the old address after the change: %v", err)
		}
		if _, err := e.svc.FinishEmailLink(ctx, tn, magic.Token(), ""); !errors.Is(err, selfservice.ErrInvalidToken) {
			t.Errorf("sign-in link to the old address after the change: %v", err)
		}
		if _, err := s.SelfService().OneTimeTokens().PeekToken(ctx, tn.ID, store.PurposeMFAEmailCode, mfaHash[:]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second-factor code ticket after the change: %v", err)
		}
	})
}

// TestEmailChangeEndsSecureLinks: a notice's "this was not me" link mailed
// to the old address starts a password reset for whoever holds it, so it
// stops working when the address changes, like a reset link.
func TestEmailChangeEndsSecureLinks(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		tn := e.tenant(t, nil)
		p := pw
		admin := events.Actor{Type: "cli", ID: "t"}
		u, err := e.svc.Directory.CreateUser(ctx, admin, tn.ID, directory.NewUser{Email: "old@example.com", Password: &p})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx store.Repos) error {
			return e.svc.Notices.Notify(ctx, tx, tn.ID, u.ID, notice.FactorAdded)
		}); err != nil {
			t.Fatal(err)
		}
		ms := e.mails(t)
		if len(ms) != 1 || ms[0].To != "old@example.com" || !strings.HasPrefix(ms[0].Token(), notice.SecurePrefix) {
			t.Fatalf("queued mails %+v, want one notice with a secure link to the old address", ms)
		}
		link := ms[0].Token()
		if err := e.svc.CheckSecureLink(ctx, tn, link); err != nil {
			t.Fatalf("secure link before the change: %v", err)
		}

		addr := "new@example.com"
		if _, err := e.svc.Directory.UpdateUser(ctx, admin, tn.ID, u.ID, 0, directory.UserPatch{Email: &addr}); err != nil {
			t.Fatal(err)
		}
		if reset, err := e.svc.SecureAccount(ctx, tn, link, "192.0.2.1"); !errors.Is(err, selfservice.ErrInvalidToken) || reset != "" {
			t.Errorf("secure link to the old address after the change: reset %q, %v", reset, err)
		}
	})
}
