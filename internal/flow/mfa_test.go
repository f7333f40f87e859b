package flow

import (
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestEmailLoginAsksSecondFactor: a mailbox proof is one factor; a user
// with a factor enrolled gets the second-factor ticket, not a session,
// with or without a pending request, and the ticket then finishes with
// amr email+otp+mfa.
func TestEmailLoginAsksSecondFactor(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		f := newEnforceFixture(t, db, "", "app") // enforce_test.go
		s, tn, u := f.s, f.tn, f.u
		secret := f.enrolTOTP(t)
		ar := f.request(t, "app")
		for _, req := range []string{ar.ID, ""} {
			sess, _, err := s.EmailLogin(ctx, tn.ID, req, u.ID, "127.0.0.1", "test")
			var sf *SecondFactorError
			if !errors.As(err, &sf) || sess != nil {
				t.Fatalf("email login (request %q) of an enrolled user: session %v, err %v", req, sess != nil, err)
			}
			if req == "" {
				continue
			}
			code, _ := totp.GenerateCode(secret, time.Now())
			sess, _, err = s.SecondFactorLogin(ctx, tn.ID, req, sf.Token, code, "", "127.0.0.1", "test")
			if err != nil || len(sess.AMR) != 3 || sess.AMR[0] != "email" || sess.AMR[2] != "mfa" {
				t.Fatalf("second factor after email: %v %v", sess, err)
			}
		}
	})
}
