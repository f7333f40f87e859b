package selfservice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestRecoveryUnderPasswordAttack: while an attacker guesses the owner's
// password from one address, the owner resets the password and signs in
// by email link (from the attacker's very address too), and the new
// password works from another address at once.
func TestRecoveryUnderPasswordAttack(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		tn := e.tenant(t, func(p *tenancy.SelfService) { p.Passwordless = true })
		ctx := t.Context()
		u, err := e.svc.Directory.CreateUser(ctx, events.Actor{Type: "test"}, tn.ID, directory.NewUser{Email: "ada@example.com", Password: new(pw)})
		if err != nil {
			t.Fatal(err)
		}
		fl := &flow.Service{Store: s, Directory: e.svc.Directory, Now: time.Now, MasterKey: make([]byte, 32)}
		const attacker = "198.51.100.7"
		throttled := 0
		for range 30 {
			_, err := fl.CheckPassword(ctx, tn.ID, "ada@example.com", "wrong password!", attacker)
			var th *flow.ThrottledError
			if errors.As(err, &th) {
				throttled++
			}
		}
		if throttled == 0 {
			t.Fatal("the attacker was never throttled")
		}
		if err := e.svc.ForgotPassword(ctx, tn, "ada@example.com", attacker, ""); err != nil {
			t.Fatalf("ForgotPassword under attack: %v", err)
		}
		m := e.one(t, "reset", "ada@example.com")
		if _, err := e.svc.ResetPassword(ctx, tn, m.Token(), "a brand new passphrase", attacker); err != nil {
			t.Fatalf("ResetPassword under attack: %v", err)
		}
		if got, err := fl.CheckPassword(ctx, tn.ID, "ada@example.com", "a brand new passphrase", "203.0.113.9"); err != nil || got.ID != u.ID {
			t.Fatalf("new password from another address under attack: %v", err)
		}
		e.mails(t) // the reset's password-change notice
		if _, err := e.svc.StartEmailLogin(ctx, tn, "", "ada@example.com", attacker, ""); err != nil {
			t.Fatalf("StartEmailLogin under attack: %v", err)
		}
		done, err := e.svc.FinishEmailLink(ctx, tn, e.one(t, "magic", "ada@example.com").Token(), "")
		if err != nil || done.UserID != u.ID {
			t.Fatalf("email link under attack: %+v, %v", done, err)
		}
	})
}
