package authz_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func TestElevationLifecycle(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, boss, eve := e.user(t, "ann"), e.user(t, "boss"), e.user(t, "eve")
		ops := e.group(t, "ops", userM(ann))
		e.role(t, authz.NewRole{Name: "prod-admin", Permissions: []string{"prod:write"}, Privileged: true,
			MaxDuration: "2h", Approvers: []string{boss.ID, ann.ID}})
		if _, _, err := e.az.AssignGroup(t.Context(), admin, e.tn, ops.ID, "prod-admin"); err != nil {
			t.Fatal(err)
		}
		// Eligible, not active.
		d := e.check(t, ann.ID, "prod:write")
		if d.Allowed || !strings.Contains(d.Reason, "eligible") {
			t.Errorf("eligible only: %+v", d)
		}
		eff, err := e.az.EffectiveRoles(t.Context(), e.tn, ann.ID)
		if err != nil || len(eff.Active) != 0 || len(eff.Eligible) != 1 || eff.Eligible[0].Via[0].Group != "ops" {
			t.Errorf("EffectiveRoles = %+v, %v", eff, err)
		}
		req := authz.ElevationRequest{Role: "prod-admin", Reason: "INC-42", Duration: "1h"}
		// Beyond max_duration, without reason, not eligible: refused.
		_, err = e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, authz.ElevationRequest{Role: "prod-admin", Reason: "x", Duration: "3h"}, nil)
		var verr *valid.Error
		if !errors.As(err, &verr) || verr.Fields[0].Field != "duration" {
			t.Errorf("duration over max: %v", err)
		}
		_, err = e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, authz.ElevationRequest{Role: "prod-admin", Duration: "1h"}, nil)
		if !errors.As(err, &verr) || verr.Fields[0].Field != "reason" {
			t.Errorf("no reason: %v", err)
		}
		_, err = e.az.RequestElevation(t.Context(), admin, e.tn, eve.ID, req, nil)
		refused(t, "not eligible", err, "not_eligible")

		el, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if err != nil || el.Status != store.ElevationPending {
			t.Fatalf("RequestElevation = %+v, %v", el, err)
		}
		if d := e.check(t, ann.ID, "prod:write"); d.Allowed {
			t.Errorf("pending elevation allowed: %+v", d)
		}
		// ann is a named approver, but never of her own request.
		_, err = e.az.Decide(t.Context(), asUser(ann.ID), e.tn, el.ID, true)
		refused(t, "self-approval", err, "self_approval")
		_, err = e.az.Decide(t.Context(), asUser(eve.ID), e.tn, el.ID, true)
		refused(t, "not an approver", err, "not_approver")

		e.clock.Add(10 * time.Minute) // approval comes later; the hour runs from it
		approvedAt := e.clock.Now()
		el, err = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el.ID, true)
		if err != nil || el.Status != store.ElevationApproved || !el.ExpiresAt.Equal(approvedAt.Add(time.Hour)) || el.DecidedBy != boss.ID {
			t.Fatalf("Decide = %+v, %v", el, err)
		}
		_, err = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el.ID, true)
		refused(t, "decided twice", err, "not_pending")
		d = e.check(t, ann.ID, "prod:write")
		if !d.Allowed || !strings.Contains(d.Reason, `privileged role "prod-admin"`) || !strings.Contains(d.Reason, `through group "ops"`) ||
			!strings.Contains(d.Reason, "elevated until "+approvedAt.Add(time.Hour).Format(time.RFC3339)) {
			t.Errorf("active: %+v", d)
		}
		e.clock.Add(59 * time.Minute)
		if d := e.check(t, ann.ID, "prod:write"); !d.Allowed {
			t.Errorf("a minute before expiry: %+v", d)
		}
		e.clock.Add(time.Minute)
		if d := e.check(t, ann.ID, "prod:write"); d.Allowed {
			t.Errorf("at expiry: %+v", d)
		}
		got, _ := e.az.GetElevation(t.Context(), e.tn, el.ID)
		if authz.State(got, e.clock.Now()) != authz.StateExpired {
			t.Errorf("state at expiry = %s", authz.State(got, e.clock.Now()))
		}
		_, err = e.az.Revoke(t.Context(), admin, e.tn, el.ID, "")
		refused(t, "revoke expired", err, "not_active")

		// Early revocation of a second grant.
		el2, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el2.ID, true); err != nil {
			t.Fatal(err)
		}
		if d := e.check(t, ann.ID, "prod:write"); !d.Allowed {
			t.Errorf("second grant: %+v", d)
		}
		e.clock.Add(5 * time.Minute)
		rv, err := e.az.Revoke(t.Context(), admin, e.tn, el2.ID, boss.ID)
		if err != nil || rv.Status != store.ElevationRevoked || rv.RevokedBy != boss.ID {
			t.Fatalf("Revoke = %+v, %v", rv, err)
		}
		if d := e.check(t, ann.ID, "prod:write"); d.Allowed {
			t.Errorf("after revocation: %+v", d)
		}
		// A request left undecided for over a day goes stale.
		stale, _ := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		e.clock.Add(25 * time.Hour)
		_, err = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, stale.ID, true)
		refused(t, "stale request", err, "stale_request")
		// A denial.
		el3, _ := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if el3, err = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el3.ID, false); err != nil || el3.Status != store.ElevationDenied {
			t.Errorf("deny = %+v, %v", el3, err)
		}
		// Leaving the group voids an active elevation: eligibility is
		// checked with it.
		el4, _ := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if _, err := e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el4.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.Groups().RemoveMember(t.Context(), e.tn, ops.ID, userM(ann)); err != nil {
			t.Fatal(err)
		}
		if d := e.check(t, ann.ID, "prod:write"); d.Allowed {
			t.Errorf("elevated but no longer eligible: %+v", d)
		}
		want := []string{"elevation.request", "elevation.approve", "elevation.request", "elevation.approve", "elevation.revoke",
			"elevation.request", "elevation.request", "elevation.deny"}
		var got2 []string
		for _, a := range e.actions(t) {
			if strings.HasPrefix(a, "elevation.") {
				got2 = append(got2, a)
			}
		}
		if !slices.Equal(got2[:len(want)], want) {
			t.Errorf("audit = %v, want prefix %v", got2, want)
		}
	})
}

// TestSelfActivation: the self_mfa policy activates only on the user's own
// session with an MFA login at most five minutes old.
func TestSelfActivation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, bob := e.user(t, "ann"), e.user(t, "bob")
		e.role(t, authz.NewRole{Name: "dba", Permissions: []string{"db:admin"}, Privileged: true, MaxDuration: "30m", Approval: "self_mfa"})
		if _, _, err := e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "dba"); err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		sess := func(user string, amr []string, age time.Duration) *store.Session {
			return &store.Session{ID: id(), Tenant: e.tn, UserID: user, AMR: amr, AuthTime: now.Add(-age), ExpiresAt: now.Add(time.Hour)}
		}
		req := authz.ElevationRequest{Role: "dba", Reason: "migration", Duration: "30m"}
		for name, ss := range map[string]*store.Session{
			"no session":     nil,
			"password only":  sess(ann.ID, []string{"pwd"}, 0),
			"stale step-up":  sess(ann.ID, []string{"pwd", "otp", "mfa"}, 6*time.Minute),
			"someone else's": sess(bob.ID, []string{"pwd", "otp", "mfa"}, 0),
			// A passkey without user verification is one factor (review finding 4).
			"passkey without user verification": sess(ann.ID, []string{"hwk"}, 0),
			"two first factors":                 sess(ann.ID, []string{"pwd", "fed"}, 0),
		} {
			_, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, ss)
			refused(t, name, err, "step_up_required")
		}
		el, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, sess(ann.ID, []string{"pwd", "otp", "mfa"}, time.Minute))
		if err != nil || el.Status != store.ElevationApproved || el.DecidedBy != ann.ID || !el.ExpiresAt.Equal(now.Add(30*time.Minute)) {
			t.Fatalf("self-activation = %+v, %v", el, err)
		}
		if d := e.check(t, ann.ID, "db:admin"); !d.Allowed {
			t.Errorf("self-activated: %+v", d)
		}
		// Tokens carry the privileged role only after an MFA login, and
		// must not outlive the elevation.
		cl := &store.Client{ID: "app", Tenant: e.tn, AuthzClaims: store.AuthzClaims{RolesClaim: "roles", PermissionsClaim: "perms"}}
		claims, notAfter, err := e.az.TokenClaims(t.Context(), e.tn, ann.ID, cl, []string{"pwd"})
		if err != nil || len(claims["roles"].([]string)) != 0 || !notAfter.IsZero() {
			t.Errorf("password-only token claims = %v, %v, %v", claims, notAfter, err)
		}
		claims, notAfter, err = e.az.TokenClaims(t.Context(), e.tn, ann.ID, cl, []string{"hwk"})
		if err != nil || len(claims["roles"].([]string)) != 0 || !notAfter.IsZero() {
			t.Errorf("passkey-without-verification token claims = %v, %v, %v", claims, notAfter, err)
		}
		claims, notAfter, err = e.az.TokenClaims(t.Context(), e.tn, ann.ID, cl, []string{"pwd", "otp", "mfa"})
		if err != nil || !slices.Equal(claims["roles"].([]string), []string{"dba"}) || !slices.Equal(claims["perms"].([]string), []string{"db:admin"}) ||
			!notAfter.Equal(el.ExpiresAt) {
			t.Errorf("MFA token claims = %v, %v, %v", claims, notAfter, err)
		}
	})
}

// TestBreakGlass: listed, and a use records the alert event.
func TestBreakGlass(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, bob := e.user(t, "ann"), e.user(t, "bob")
		if _, err := e.az.AddBreakGlass(t.Context(), admin, e.tn, ann.ID, "sealed envelope in the safe"); err != nil {
			t.Fatal(err)
		}
		_, err := e.az.AddBreakGlass(t.Context(), admin, e.tn, ann.ID, "")
		var conflict *valid.Conflict
		if !errors.As(err, &conflict) {
			t.Errorf("twice: %v", err)
		}
		l, err := e.az.ListBreakGlass(t.Context(), e.tn)
		if err != nil || len(l) != 1 || l[0].UserID != ann.ID {
			t.Errorf("ListBreakGlass = %+v, %v", l, err)
		}
		if err := e.az.NoteUse(t.Context(), e.tn, bob.ID, "login", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.az.NoteUse(t.Context(), e.tn, ann.ID, "token", "app"); err != nil {
			t.Fatal(err)
		}
		var alerts []store.AuditEntry
		_ = s.Audit().ScanAudit(t.Context(), e.tn, func(a store.AuditEntry) error {
			if a.Action == authz.ActionBreakGlassUsed {
				alerts = append(alerts, a)
			}
			return nil
		})
		if len(alerts) != 1 || alerts[0].TargetID != ann.ID || !bytes.Contains(alerts[0].Changes, []byte(`"token"`)) {
			t.Errorf("alerts = %+v", alerts)
		}
	})
}

// TestReviewCampaign: a campaign over privileged assignments; a revocation
// takes the role away at once; the report says who had what, who decided
// and when, in CSV and JSON rows.
func TestDecideConcurrently(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, boss := e.user(t, "ann"), e.user(t, "boss")
		e.role(t, authz.NewRole{Name: "root", Permissions: []string{"x"}, Privileged: true, Approvers: []string{boss.ID}})
		if _, _, err := e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "root"); err != nil {
			t.Fatal(err)
		}
		el, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, authz.ElevationRequest{Role: "root", Reason: "r", Duration: "1h"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, el.ID, i%2 == 0)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			var r *authz.Refused
			switch {
			case err == nil:
				won++
			case errors.As(err, &r) && r.Code == "not_pending":
			default:
				t.Errorf("Decide: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d decisions landed, want 1", won)
		}
		decided := 0
		for _, a := range e.actions(t) {
			if a == "elevation.approve" || a == "elevation.deny" {
				decided++
			}
		}
		if decided != 1 {
			t.Errorf("%d decisions audited, want 1", decided)
		}
	})
}

// asUser is userID deciding on the account page.
func asUser(userID string) events.Actor { return events.Actor{Type: "user", ID: userID} }

// TestDecideAsCaller: an elevation is decided by whoever calls, never by a
// name the request carries: a user must be one of the role's approvers and
// not the requester; an API key decides as itself and is recorded so.
func TestDecideAsCaller(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, boss, eve := e.user(t, "ann"), e.user(t, "boss"), e.user(t, "eve")
		e.role(t, authz.NewRole{Name: "prod-admin", Permissions: []string{"prod:write"}, Privileged: true,
			MaxDuration: "2h", Approvers: []string{boss.ID}})
		if _, _, err := e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "prod-admin"); err != nil {
			t.Fatal(err)
		}
		req := authz.ElevationRequest{Role: "prod-admin", Reason: "INC-42", Duration: "1h"}
		first, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.az.Decide(t.Context(), asUser(eve.ID), e.tn, first.ID, true)
		refused(t, "a user who is no approver", err, "not_approver")
		_, err = e.az.Decide(t.Context(), asUser(ann.ID), e.tn, first.ID, true)
		refused(t, "the requester", err, "self_approval")
		_, err = e.az.Decide(t.Context(), events.Actor{}, e.tn, first.ID, true)
		refused(t, "nobody", err, "not_approver")
		el, err := e.az.Decide(t.Context(), admin, e.tn, first.ID, false)
		if err != nil || el.Status != store.ElevationDenied || el.DecidedBy != "apikey:k1" {
			t.Fatalf("denied by the API key: %+v, %v", el, err)
		}
		second, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if el, err = e.az.Decide(t.Context(), asUser(boss.ID), e.tn, second.ID, true); err != nil || el.DecidedBy != boss.ID {
			t.Fatalf("approved by the approver: %+v, %v", el, err)
		}
	})
}
