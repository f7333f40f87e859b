package selfservice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestPreAccountHijack: review finding 6. An attacker signs up with the
// victim's address (unverified), signs in, links an upstream identity
// and enrols a second factor. When the owner first proves the mailbox (a
// verification link, an email login, a password reset), everything the
// attacker planted is gone: sessions, linked identities, factors and
// remembered devices.
func TestPreAccountHijack(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		tn := e.tenant(t, func(p *tenancy.SelfService) { open(p); p.Passwordless = true })
		conn := &store.Connection{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Name: "corp", Type: "oidc",
			DisplayName: "Corp", Enabled: true, Config: []byte(`{}`)}
		if err := s.Connections().Connections().CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		proofs := map[string]func(email string){
			"verification link": func(email string) {
				m := e.one(t, "verify", email)
				if _, err := e.svc.VerifyLink(ctx, tn, m.Token(), "192.0.2.9", ""); err != nil {
					t.Fatal(err)
				}
			},
			"email login": func(email string) {
				e.mails(t)
				if _, err := e.svc.StartEmailLogin(ctx, tn, "", email, "192.0.2.9", ""); err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.FinishEmailLink(ctx, tn, e.one(t, "magic", email).Token(), ""); err != nil {
					t.Fatal(err)
				}
			},
			"password reset": func(email string) {
				e.mails(t)
				if err := e.svc.ForgotPassword(ctx, tn, email, "192.0.2.9", ""); err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.ResetPassword(ctx, tn, e.one(t, "reset", email).Token(), "the owner's new passphrase", "192.0.2.9"); err != nil {
					t.Fatal(err)
				}
			},
		}
		i := 0
		for name, prove := range proofs {
			i++
			email := string(rune('a'+i)) + "-victim@example.com"
			e.mails(t) // the notices a previous proof queued
			if _, err := signUp(e, t, tn, email); err != nil {
				t.Fatal(err)
			}
			u, err := s.Users().GetUserByEmail(ctx, tn.ID, email)
			if err != nil || u.EmailVerified {
				t.Fatalf("%s: signed-up user %+v %v", name, u, err)
			}
			// What the attacker plants while the address is unverified.
			sess, _, err := e.sess.Create(ctx, tn.ID, u.ID, []string{"pwd"}, "attacker", "203.0.113.66")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			if err := s.Connections().Identities().CreateIdentity(ctx, &store.Identity{ID: uuid.Must(uuid.NewV7()).String(),
				Tenant: tn.ID, UserID: u.ID, ConnectionID: conn.ID, Subject: "attacker-" + name, CreatedAt: now, LastLoginAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.MFA().Factors().CreateFactor(ctx, &store.Factor{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID,
				UserID: u.ID, Kind: store.FactorTOTP, Name: "attacker", Confirmed: true, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}

			prove(email)

			if got, err := s.Users().GetUser(ctx, tn.ID, u.ID); err != nil || !got.EmailVerified {
				t.Fatalf("%s: user after the proof %+v %v", name, got, err)
			}
			if got, err := s.OAuth().Sessions().GetSession(ctx, tn.ID, sess.ID); err == nil && got.RevokedAt == nil {
				t.Errorf("%s: the attacker's session survived", name)
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if ids, err := s.Connections().Identities().ListUserIdentities(ctx, tn.ID, u.ID); err != nil || len(ids) != 0 {
				t.Errorf("%s: linked identities after the proof: %d %v", name, len(ids), err)
			}
			if fs, err := s.MFA().Factors().ListFactors(ctx, tn.ID, u.ID); err != nil || len(fs) != 0 {
				t.Errorf("%s: factors after the proof: %d %v", name, len(fs), err)
			}
		}
	})
}
