package flow

import (
	"context"
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

// enforceFixture is a tenant with MFA settings, a user and clients.
type enforceFixture struct {
	s  *Service
	m  *mfa.Service
	tn *store.Tenant
	u  *store.User
}

func newEnforceFixture(t *testing.T, db *sqlstore.DB, settings string, clients ...string) *enforceFixture {
	t.Helper()
	ctx := t.Context()
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key, nil)
	m := &mfa.Service{Store: db, Sealer: sealer, Audit: &events.Recorder{Now: time.Now}, Now: time.Now}
	s := &Service{Store: db, Sessions: &session.Service{Store: db, Now: time.Now}, Now: time.Now, MFA: m}
	id := uuid.Must(uuid.NewV7()).String()
	tn := &store.Tenant{ID: store.TenantID(id), Slug: "t-" + id[len(id)-12:], Name: "T"}
	if settings != "" {
		tn.Settings = []byte(settings)
	}
	if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Email: "a@example.com", EmailNorm: "a@example.com",
		Status: store.UserActive, EmailVerified: true, CreatedAt: time.Now().Add(-30 * 24 * time.Hour)}
	if err := db.Users().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, cid := range clients {
		c := &store.Client{ID: cid, Tenant: tn.ID, Name: cid, AuthMethod: "client_secret_basic", SecretHash: []byte("h"),
			RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}}
		if err := db.OAuth().Clients().CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return &enforceFixture{s: s, m: m, tn: tn, u: u}
}

func (f *enforceFixture) request(t *testing.T, clientID string, acr ...string) *store.LoginRequest {
	t.Helper()
	ar := &store.LoginRequest{Tenant: f.tn.ID, Origin: OriginOIDC, ClientID: clientID, ReturnURI: "https://app.example/cb",
		Scopes: []string{"openid"}, ACRValues: acr, ExpiresAt: time.Now().Add(time.Minute)}
	if err := f.s.Start(t.Context(), ar); err != nil {
		t.Fatal(err)
	}
	return ar
}

func (f *enforceFixture) enrolTOTP(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	e, err := f.m.EnrolTOTP(ctx, f.tn.ID, f.u.ID, "phone", "T", f.u.Email)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second))
	if _, err := f.m.ConfirmTOTP(ctx, events.Actor{Type: "user"}, f.tn.ID, f.u.ID, e.FactorID, first); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

func (f *enforceFixture) session(t *testing.T, amr ...string) *store.Session {
	t.Helper()
	sess, _, err := f.s.Sessions.Create(t.Context(), f.tn.ID, f.u.ID, amr, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func (f *enforceFixture) done(t *testing.T, id string) bool {
	t.Helper()
	ar, err := f.s.Store.Logins().GetLoginRequest(context.WithoutCancel(t.Context()), f.tn.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return ar.Done
}

// TestCompleteEnforcesMFAPolicy: an existing session
// completes a request only when its AMR meets that request's policy: a
// session from the account page's enrol-only sign-in (required policy,
// grace over, no factor) gets no code; a password-only session from a
// client without MFA is not reused at a client whose policy is required;
// a TOTP session is not accepted at a passkeys_only client; an MFA
// session is accepted at a required client.
func TestCompleteEnforcesMFAPolicy(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		t.Run("required, no factor, enrol-only session", func(t *testing.T) {
			f := newEnforceFixture(t, db, `{"mfa":{"policy":"required"}}`, "app")
			sess := f.session(t, "pwd")
			ar := f.request(t, "app")
			if err := f.s.Complete(ctx, f.tn.ID, ar.ID, sess); !errors.Is(err, ErrStepUpRequired) {
				t.Fatalf("Complete with a password-only session under required: %v, want ErrStepUpRequired", err)
			}
			if f.done(t, ar.ID) {
				t.Fatal("the request was completed")
			}
			if err := f.s.StepUp(ctx, f.tn.ID, ar, sess); !errors.Is(err, ErrMFAUnmet) {
				t.Fatalf("StepUp for a user without a factor: %v, want ErrMFAUnmet", err)
			}
		})
		t.Run("per-client required", func(t *testing.T) {
			f := newEnforceFixture(t, db, `{"mfa":{"policy":"off","clients":{"b":"required","c":"passkeys_only"}}}`, "a", "b", "c")
			f.enrolTOTP(t)
			pwd := f.session(t, "pwd")
			if err := f.s.Complete(ctx, f.tn.ID, f.request(t, "a").ID, pwd); err != nil {
				t.Fatalf("client a (policy off): %v", err)
			}
			arB := f.request(t, "b")
			if err := f.s.Complete(ctx, f.tn.ID, arB.ID, pwd); !errors.Is(err, ErrStepUpRequired) || f.done(t, arB.ID) {
				t.Fatalf("client b (required) with amr [pwd]: %v, want ErrStepUpRequired", err)
			}
			var sf *SecondFactorError
			if err := f.s.StepUp(ctx, f.tn.ID, arB, pwd); !errors.As(err, &sf) {
				t.Fatalf("StepUp at client b: %v, want a second-factor ticket", err)
			}
			otp := f.session(t, "pwd", "otp", "mfa")
			if err := f.s.Complete(ctx, f.tn.ID, arB.ID, otp); err != nil {
				t.Fatalf("client b with an mfa session: %v", err)
			}
			arC := f.request(t, "c")
			if err := f.s.Complete(ctx, f.tn.ID, arC.ID, otp); !errors.Is(err, ErrStepUpRequired) || f.done(t, arC.ID) {
				t.Fatalf("client c (passkeys_only) with a TOTP session: %v, want ErrStepUpRequired", err)
			}
		})
		t.Run("acr_values=mfa with a fed+pwd session", func(t *testing.T) {
			f := newEnforceFixture(t, db, `{"mfa":{"policy":"off"}}`, "app")
			f.enrolTOTP(t)
			ar := f.request(t, "app", "mfa")
			if err := f.s.Complete(ctx, f.tn.ID, ar.ID, f.session(t, "pwd", "fed")); !errors.Is(err, ErrStepUpRequired) {
				t.Fatalf("acr mfa with amr [pwd fed]: %v, want ErrStepUpRequired", err)
			}
		})
	})
}

// TestSocialLoginAppliesMFAPolicy: a login through an
// upstream identity is one factor: a user with TOTP gets the second-factor
// ticket and no session, with or without a pending request; a user who
// must enrol but has none gets no code for a request.
func TestSocialLoginAppliesMFAPolicy(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		f := newEnforceFixture(t, db, `{"mfa":{"policy":"optional"}}`, "app")
		secret := f.enrolTOTP(t)
		social := &Social{Flow: f.s}
		for i, amr := range [][]string{{amrFed}, {"pwd", amrFed}} {
			ar := f.request(t, "app")
			sess, token, err := social.finish(ctx, f.tn.ID, ar.ID, f.u.ID, amr, "127.0.0.1", "test")
			var sf *SecondFactorError
			if !errors.As(err, &sf) || sess != nil || token != "" || f.done(t, ar.ID) {
				t.Fatalf("social login %v of a TOTP user: session %v, err %v", amr, sess != nil, err)
			}
			if i > 0 {
				continue // one TOTP code per time step
			}
			code, _ := totp.GenerateCode(secret, time.Now())
			sess, _, err = f.s.SecondFactorLogin(ctx, f.tn.ID, ar.ID, sf.Token, code, "", "127.0.0.1", "test")
			if err != nil || !mfa.Satisfied(sess.AMR) || !f.done(t, ar.ID) {
				t.Fatalf("second factor after social login: %v %v", sess, err)
			}
		}
		if _, _, err := social.finish(ctx, f.tn.ID, "", f.u.ID, []string{amrFed}, "127.0.0.1", "test"); !errors.As(err, new(*SecondFactorError)) {
			t.Fatalf("social login without a request: %v, want a second-factor ticket", err)
		}

		g := newEnforceFixture(t, db, `{"mfa":{"policy":"required"}}`, "app")
		ar := g.request(t, "app")
		sess, _, err := (&Social{Flow: g.s}).finish(ctx, g.tn.ID, ar.ID, g.u.ID, []string{amrFed}, "127.0.0.1", "test")
		if !errors.Is(err, ErrMFAUnmet) || sess != nil || g.done(t, ar.ID) {
			t.Fatalf("social login under required without a factor: session %v, err %v", sess != nil, err)
		}
	})
}
