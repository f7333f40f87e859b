package mfa

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestDecide: the strictest of tenant, client and group policy applies;
// step-up (acr) asks an enrolled user and cannot be met by one who is
// not; required without a factor is refused after the grace period.
func TestDecide(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		g := &store.Group{ID: uuid.Must(uuid.NewV7()).String(), Tenant: f.tenant.ID, Name: "admins"}
		if err := db.Groups().CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		outsider := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: f.tenant.ID, Email: "o@example.com",
			EmailNorm: "o@example.com", Status: store.UserActive, CreatedAt: f.clk.t}
		if err := db.Users().CreateUser(ctx, outsider); err != nil {
			t.Fatal(err)
		}
		if err := db.Groups().AddMember(ctx, f.tenant.ID, g.ID, store.Member{Type: store.MemberUser, ID: f.user.ID}); err != nil {
			t.Fatal(err)
		}
		set := func(m tenancy.MFA) {
			s := tenancy.DefaultSettings()
			s.MFA = m
			f.tenant.Settings, _ = json.Marshal(s)
		}
		decide := func(u *store.User, client string, acr ...string) Decision {
			t.Helper()
			d, err := f.svc.Decide(ctx, f.tenant, u, client, acr)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		// Nobody enrolled yet.
		set(tenancy.MFA{Policy: tenancy.MFAOptional})
		if d := decide(f.user, "app"); d != Proceed {
			t.Fatalf("optional, not enrolled: %v", d)
		}
		if d := decide(f.user, "app", ACRMFA); d != Unmet {
			t.Fatalf("step-up, not enrolled: %v", d)
		}
		set(tenancy.MFA{Policy: tenancy.MFAOff, Clients: map[string]string{"payroll": tenancy.MFARequired}, GraceDays: 7})
		f.user.CreatedAt = f.clk.t.Add(-time.Hour)
		if d := decide(f.user, "payroll"); d != Proceed {
			t.Fatalf("required by the client, inside the grace period: %v", d)
		}
		f.user.CreatedAt = f.clk.t.Add(-8 * 24 * time.Hour)
		if d := decide(f.user, "payroll"); d != Unmet {
			t.Fatalf("required by the client, grace over: %v", d)
		}
		if d := decide(f.user, "wiki"); d != Proceed {
			t.Fatalf("another client, policy off: %v", d)
		}
		set(tenancy.MFA{Policy: tenancy.MFAOff, Groups: map[string]string{g.ID: tenancy.MFARequired}})
		if d := decide(f.user, "wiki"); d != Unmet {
			t.Fatalf("required by the group: %v", d)
		}
		if d := decide(outsider, "wiki"); d != Proceed {
			t.Fatalf("not in the group: %v", d)
		}

		f.enrol(t)
		if d := decide(f.user, "wiki"); d != Ask {
			t.Fatalf("enrolled, group requires: %v", d)
		}
		set(tenancy.MFA{Policy: tenancy.MFAOff})
		if d := decide(f.user, "wiki"); d != Proceed {
			t.Fatalf("enrolled, policy off: %v", d)
		}
		if d := decide(f.user, "wiki", "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken"); d != Ask {
			t.Fatalf("enrolled, policy off, SAML step-up: %v", d)
		}
		// passkeys_only: an authenticator app does not count.
		set(tenancy.MFA{Policy: tenancy.MFAOptional, Clients: map[string]string{"vault": tenancy.MFAPasskeysOnly}})
		if d := decide(f.user, "vault"); d != Unmet {
			t.Fatalf("passkeys only, TOTP enrolled: %v", d)
		}
		if only, err := f.svc.PasskeysOnly(ctx, f.tenant, f.user, "vault"); err != nil || !only {
			t.Fatalf("PasskeysOnly(vault) = %v, %v", only, err)
		}
		if only, _ := f.svc.PasskeysOnly(ctx, f.tenant, f.user, "wiki"); only {
			t.Fatal("PasskeysOnly(wiki) = true")
		}
	})
}

func TestAsksForMFA(t *testing.T) {
	for in, want := range map[string]bool{"mfa": true, "1": false, "": false,
		"http://schemas.openid.net/pape/policies/2007/06/multi-factor":      true,
		"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": false} {
		if got := AsksForMFA([]string{in}); got != want {
			t.Errorf("AsksForMFA(%q) = %v", in, got)
		}
	}
}
