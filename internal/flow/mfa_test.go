package flow

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
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
		key, _ := seal.NewKey()
		sealer, _ := seal.New(key, nil)
		m := &mfa.Service{Store: db, Sealer: sealer, Audit: &events.Recorder{Now: time.Now}, Now: time.Now}
		s := &Service{Store: db, Sessions: &session.Service{Store: db, Now: time.Now}, Now: time.Now, MFA: m}
		id := uuid.Must(uuid.NewV7()).String()
		tn := &store.Tenant{ID: store.TenantID(id), Slug: "t-" + id[:8], Name: "T"}
		if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Email: "a@example.com", EmailNorm: "a@example.com",
			Status: store.UserActive, EmailVerified: true}
		if err := db.Users().CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		e, err := m.EnrolTOTP(ctx, tn.ID, u.ID, "phone", "T", u.Email)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second))
		if _, err := m.ConfirmTOTP(ctx, events.Actor{Type: "user"}, tn.ID, u.ID, e.FactorID, first); err != nil {
			t.Fatal(err)
		}
		c := &store.Client{ID: "app", Tenant: tn.ID, Name: "App", AuthMethod: "client_secret_basic", SecretHash: []byte("h"),
			RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}}
		if err := db.OAuth().Clients().CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		ar := &store.AuthRequest{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, ClientID: "app", RedirectURI: "https://app.example/cb",
			Scopes: []string{"openid"}, ResponseType: "code", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := db.OAuth().AuthRequests().CreateAuthRequest(ctx, ar); err != nil {
			t.Fatal(err)
		}
		for _, req := range []string{ar.ID, ""} {
			sess, _, err := s.EmailLogin(ctx, tn.ID, req, u.ID, "127.0.0.1", "test")
			var sf *SecondFactorError
			if !errors.As(err, &sf) || sess != nil {
				t.Fatalf("email login (request %q) of an enrolled user: session %v, err %v", req, sess != nil, err)
			}
			if req == "" {
				continue
			}
			code, _ := totp.GenerateCode(e.Secret, time.Now())
			sess, _, err = s.SecondFactorLogin(ctx, tn.ID, req, sf.Token, code, "", "127.0.0.1", "test")
			if err != nil || len(sess.AMR) != 3 || sess.AMR[0] != "email" || sess.AMR[2] != "mfa" {
				t.Fatalf("second factor after email: %v %v", sess, err)
			}
		}
	})
}
