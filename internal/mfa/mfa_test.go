package mfa

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// clock is a fixed, settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var actor = events.Actor{Type: "user", ID: "test"}

type fixture struct {
	svc    *Service
	db     *sqlstore.DB
	clk    *clock
	tenant *store.Tenant
	user   *store.User
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	key, _ := seal.NewKey()
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)}
	id := uuid.Must(uuid.NewV7()).String()
	tn := &store.Tenant{ID: store.TenantID(id), Slug: "t-" + id[:8], Name: "T"}
	if err := db.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Email: "a@example.com", EmailNorm: "a@example.com", Status: store.UserActive}
	if err := db.Users().CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: &Service{Store: db, Sealer: sealer, Audit: &events.Recorder{Now: clk.now}, Now: clk.now},
		db: db, clk: clk, tenant: tn, user: u}
}

func (f *fixture) code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol enrols and confirms a TOTP factor, answering its secret and the
// recovery codes. The confirming code is the previous step's, so the
// current step is still unused.
func (f *fixture) enrol(t *testing.T) (string, []string) {
	t.Helper()
	e, err := f.svc.EnrolTOTP(t.Context(), f.tenant.ID, f.user.ID, "phone", "Gatehouse", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(t.Context(), actor, f.tenant.ID, f.user.ID, e.FactorID, f.code(t, e.Secret, f.clk.t.Add(-period*time.Second)))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return e.Secret, codes
}

// TestTOTPEnrolAndVerify: an enrolment is confirmed only by a right code;
// until then it does not count; then a code logs in once and only once,
// one step of drift either way is accepted and two are not.
func TestTOTPEnrolAndVerify(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		ctx, tn, uid := t.Context(), f.tenant.ID, f.user.ID
		e, err := f.svc.EnrolTOTP(ctx, tn, uid, "phone", "Gatehouse", "a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.URL, "otpauth://totp/") || !strings.Contains(e.URL, "secret="+e.Secret) {
			t.Fatalf("URL = %q", e.URL)
		}
		qr, err := f.svc.QRCode(ctx, tn, uid, e.FactorID, "Gatehouse", "a@example.com")
		if err != nil {
			t.Fatalf("QRCode: %v", err)
		}
		if img, err := png.Decode(bytes.NewReader(qr)); err != nil || img.Bounds().Dx() != 240 {
			t.Fatalf("QR code is not a 240px PNG: %v", err)
		}
		if ok, _ := f.svc.Enrolled(ctx, tn, uid); ok {
			t.Fatal("an unconfirmed factor counts as enrolled")
		}
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t)); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("VerifyTOTP with an unconfirmed factor = %v", err)
		}
		if _, err := f.svc.ConfirmTOTP(ctx, actor, tn, uid, e.FactorID, "000000"); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("ConfirmTOTP with a wrong code = %v", err)
		}
		codes, err := f.svc.ConfirmTOTP(ctx, actor, tn, uid, e.FactorID, f.code(t, e.Secret, f.clk.t.Add(-30*time.Second)))
		if err != nil || len(codes) != RecoveryCodeCount {
			t.Fatalf("ConfirmTOTP = %d codes, %v", len(codes), err)
		}
		if _, err := f.svc.QRCode(ctx, tn, uid, e.FactorID, "Gatehouse", "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("QR code of a confirmed factor shown again: %v", err)
		}
		if _, err := f.svc.ConfirmTOTP(ctx, actor, tn, uid, e.FactorID, f.code(t, e.Secret, f.clk.t)); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("a confirmed factor confirmed again: %v", err)
		}

		// The confirming code (previous step) cannot be replayed.
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(-30*time.Second))); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("confirming code replayed: %v", err)
		}
		now := f.code(t, e.Secret, f.clk.t)
		if err := f.svc.VerifyTOTP(ctx, tn, uid, now); err != nil {
			t.Fatalf("VerifyTOTP(now) = %v", err)
		}
		if err := f.svc.VerifyTOTP(ctx, tn, uid, now); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("replayed code accepted: %v", err)
		}
		// Two steps ahead is outside the window; one step ahead is inside.
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(60*time.Second))); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("code two steps ahead accepted: %v", err)
		}
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(30*time.Second))); err != nil {
			t.Fatalf("code one step ahead refused: %v", err)
		}
		// A minute later, a code one step behind (the phone is slow) works,
		// two behind does not.
		f.clk.t = f.clk.t.Add(90 * time.Second)
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(-60*time.Second))); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("code two steps behind accepted: %v", err)
		}
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(-30*time.Second))); err != nil {
			t.Fatalf("code one step behind refused: %v", err)
		}
		// After a newer step, an older one is refused even inside the window.
		if err := f.svc.VerifyTOTP(ctx, tn, uid, f.code(t, e.Secret, f.clk.t.Add(-60*time.Second))); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("older step accepted after a newer one: %v", err)
		}
		for _, bad := range []string{"", "12345", "1234567", "abcdef", strings.Repeat("9", 4096)} {
			if err := f.svc.VerifyTOTP(ctx, tn, uid, bad); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("VerifyTOTP(%q) = %v", bad, err)
			}
		}
	})
}

// TestRecoveryCodes: ten distinct codes, each works once and only once
// (dashes and case do not matter), regenerating kills the old set.
func TestRecoveryCodes(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		ctx, tn, uid := t.Context(), f.tenant.ID, f.user.ID
		if _, err := f.svc.RegenerateRecoveryCodes(ctx, actor, tn, uid); !errors.Is(err, ErrNoFactor) {
			t.Fatalf("recovery codes without a factor: %v", err)
		}
		_, codes := f.enrol(t)
		seen := map[string]bool{}
		for _, c := range codes {
			if len(c) != 11 || seen[c] {
				t.Fatalf("code %q malformed or repeated", c)
			}
			seen[c] = true
		}
		if amr, err := f.svc.Verify(ctx, tn, uid, strings.ToUpper(strings.ReplaceAll(codes[0], "-", "")), ""); err != nil || amr != "otp" {
			t.Fatalf("Verify(recovery code) = %q, %v", amr, err)
		}
		if _, err := f.svc.Verify(ctx, tn, uid, codes[0], ""); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("recovery code used twice: %v", err)
		}
		if s, _ := f.svc.List(ctx, tn, uid); s.RecoveryCodes != 9 {
			t.Fatalf("codes left = %d, want 9", s.RecoveryCodes)
		}
		fresh, err := f.svc.RegenerateRecoveryCodes(ctx, actor, tn, uid)
		if err != nil || len(fresh) != RecoveryCodeCount {
			t.Fatalf("Regenerate = %d, %v", len(fresh), err)
		}
		if _, err := f.svc.Verify(ctx, tn, uid, codes[1], ""); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("an old code works after regenerating: %v", err)
		}
		if _, err := f.svc.Verify(ctx, tn, uid, fresh[9], ""); err != nil {
			t.Fatalf("a fresh code refused: %v", err)
		}
	})
}

// TestSecretsSealedAtRest reads the raw rows: no TOTP seed (in base32 or
// raw bytes) and no recovery code is stored; the sealed seed does not open
// for another row.
func TestSecretsSealedAtRest(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		secret, codes := f.enrol(t)
		fs, _ := db.MFA().Factors().ListFactors(t.Context(), f.tenant.ID, f.user.ID)
		cols, vals := sqltest.RawRow(t, db, `SELECT * FROM mfa_factors WHERE tenant_id = $1`, string(f.tenant.ID))
		row := fmt.Sprint(vals...)
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				row += string(b) + fmt.Sprintf("%x", b)
			}
			_ = cols[i]
		}
		raw := mustDecode(secret)
		for _, needle := range []string{secret, strings.ToLower(secret), string(raw), fmt.Sprintf("%x", raw)} {
			if strings.Contains(row, needle) {
				t.Fatalf("the seed is readable in the raw row (column values %v)", cols)
			}
		}
		_, rc := sqltest.RawRow(t, db, `SELECT * FROM mfa_recovery_codes WHERE tenant_id = $1`, string(f.tenant.ID))
		dump := fmt.Sprint(rc...)
		for _, c := range codes {
			if strings.Contains(dump, c) || strings.Contains(dump, strings.ReplaceAll(c, "-", "")) {
				t.Fatal("a recovery code is stored in clear")
			}
		}
		if _, err := f.svc.Sealer.Open(fs[0].Secret, aad(f.tenant.ID, "another-row")); err == nil {
			t.Fatal("the sealed seed opens for another row")
		}
	})
}

// TestResetAndRemove: an administrator's reset removes every factor and
// code and is audited; a user cannot remove another user's factor.
func TestResetAndRemove(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		ctx, tn, uid := t.Context(), f.tenant.ID, f.user.ID
		f.enrol(t)
		s, _ := f.svc.List(ctx, tn, uid)
		if len(s.Factors) != 1 || s.RecoveryCodes != 10 {
			t.Fatalf("List = %+v", s)
		}
		if err := f.svc.Remove(ctx, actor, tn, "someone-else", s.Factors[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Remove by another user = %v", err)
		}
		if _, err := f.svc.Reset(ctx, actor, tn, "no-such-user"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reset of an unknown user = %v", err)
		}
		n, err := f.svc.Reset(ctx, actor, tn, uid)
		if err != nil || n != 1 {
			t.Fatalf("Reset = %d, %v", n, err)
		}
		if s, _ := f.svc.List(ctx, tn, uid); len(s.Factors) != 0 || s.RecoveryCodes != 0 {
			t.Fatalf("after Reset: %+v", s)
		}
		entries, err := db.Audit().ListAudit(ctx, tn, store.AuditQuery{Action: "mfa.reset"})
		if err != nil || len(entries) != 1 || entries[0].TargetID != uid {
			t.Fatalf("reset audit = %d entries, %v", len(entries), err)
		}
	})
}
