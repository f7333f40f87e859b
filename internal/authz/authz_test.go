package authz_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// clock is the injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var admin = events.Actor{Type: "apikey", ID: "k1"}

// quiet keeps the break-glass ALERT lines out of test output.
var quiet = slog.New(slog.DiscardHandler)

type env struct {
	s     store.Store
	clock *clock
	az    *authz.Service
	tn    store.TenantID
}

func newEnv(t *testing.T, s store.Store) *env {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	e := &env{s: s, clock: clk, az: &authz.Service{Store: s, Audit: &events.Recorder{Now: clk.Now}, Log: quiet, Now: clk.Now}}
	e.tn = e.tenant(t)
	return e
}

func id() string { return uuid.Must(uuid.NewV7()).String() }

func (e *env) tenant(t *testing.T) store.TenantID {
	t.Helper()
	tid := id()
	if err := e.s.Tenants().CreateTenant(t.Context(), &store.Tenant{ID: store.TenantID(tid), Slug: "t-" + tid, Name: "T"}); err != nil {
		t.Fatal(err)
	}
	return store.TenantID(tid)
}

func (e *env) user(t *testing.T, local string) *store.User {
	t.Helper()
	u := &store.User{ID: id(), Tenant: e.tn, Email: local + "@example.com", EmailNorm: local + "@example.com", Status: store.UserActive}
	if err := e.s.Users().CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) group(t *testing.T, name string, members ...store.Member) *store.Group {
	t.Helper()
	g := &store.Group{ID: id(), Tenant: e.tn, Name: name}
	if err := e.s.Groups().CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := e.s.Groups().AddMember(t.Context(), e.tn, g.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (e *env) role(t *testing.T, in authz.NewRole) *store.Role {
	t.Helper()
	r, err := e.az.CreateRole(t.Context(), admin, e.tn, in)
	if err != nil {
		t.Fatalf("CreateRole(%s): %v", in.Name, err)
	}
	return r
}

func (e *env) check(t *testing.T, user, perm string) authz.Decision {
	t.Helper()
	d, err := e.az.Check(t.Context(), e.tn, authz.Query{UserID: user, Permission: perm})
	if err != nil {
		t.Fatalf("Check(%s): %v", perm, err)
	}
	return d
}

func (e *env) actions(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = e.s.Audit().ScanAudit(t.Context(), e.tn, func(a store.AuditEntry) error {
		out = append(out, a.Action)
		return nil
	})
	return out
}

func userM(u *store.User) store.Member   { return store.Member{Type: store.MemberUser, ID: u.ID} }
func groupM(g *store.Group) store.Member { return store.Member{Type: store.MemberGroup, ID: g.ID} }

func refused(t *testing.T, what string, err error, code string) {
	t.Helper()
	var r *authz.Refused
	if !errors.As(err, &r) || r.Code != code {
		t.Errorf("%s: got %v, want refusal %q", what, err, code)
	}
}

// TestNestedInheritance: a role given to an outer group reaches the user of
// an inner group, the reason names role and group; the group graph refuses
// cycles; leaving the group takes the role away; deny by default.
func TestNestedInheritance(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann := e.user(t, "ann")
		team := e.group(t, "payables", userM(ann))
		dept := e.group(t, "finance", groupM(team))
		e.role(t, authz.NewRole{Name: "invoice-approver", Permissions: []string{"invoices:approve", "invoices:read"}})
		e.role(t, authz.NewRole{Name: "reader", Permissions: []string{"reports:*"}})
		if _, _, err := e.az.AssignGroup(t.Context(), admin, e.tn, dept.ID, "invoice-approver"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "reader"); err != nil {
			t.Fatal(err)
		}
		d := e.check(t, ann.ID, "invoices:approve")
		if !d.Allowed || d.Role != "invoice-approver" || d.Group != "finance" ||
			d.Reason != `allowed: role "invoice-approver" grants "invoices:approve", through group "finance"` {
			t.Errorf("nested check = %+v", d)
		}
		d = e.check(t, ann.ID, "reports:q3")
		if !d.Allowed || d.Group != "" || !strings.Contains(d.Reason, "assigned to the user directly") {
			t.Errorf("direct wildcard check = %+v", d)
		}
		d = e.check(t, ann.ID, "invoices:delete")
		if d.Allowed || d.Reason != `denied: no role of the user grants "invoices:delete"` {
			t.Errorf("deny by default = %+v", d)
		}
		if d := e.check(t, id(), "invoices:approve"); d.Allowed {
			t.Errorf("unknown user allowed: %+v", d)
		}
		// A cycle cannot be made, so the lookup always ends.
		err := s.Groups().AddMember(t.Context(), e.tn, team.ID, groupM(dept))
		if !errors.Is(err, store.ErrCycle) {
			t.Errorf("cycle: %v", err)
		}
		// Batch: the same user read once, answers in order.
		ds, err := e.az.CheckBatch(t.Context(), e.tn, []authz.Query{
			{ann.ID, "invoices:read"}, {ann.ID, "nope"}, {id(), "invoices:read"}})
		if err != nil || len(ds) != 3 || !ds[0].Allowed || ds[1].Allowed || ds[2].Allowed {
			t.Errorf("CheckBatch = %+v, %v", ds, err)
		}
		// Out of the group, out of the role.
		if err := s.Groups().RemoveMember(t.Context(), e.tn, dept.ID, groupM(team)); err != nil {
			t.Fatal(err)
		}
		if d := e.check(t, ann.ID, "invoices:approve"); d.Allowed {
			t.Errorf("after leaving the group: %+v", d)
		}
		// A disabled user is denied whatever the roles.
		if _, err := s.Users().UpdateUser(t.Context(), e.tn, ann.ID, func(u *store.User) error {
			u.Status = store.UserDisabled
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if d := e.check(t, ann.ID, "reports:q3"); d.Allowed || d.Reason != "denied: the user is disabled" {
			t.Errorf("disabled user: %+v", d)
		}
		// Bad input is refused, not answered.
		_, err = e.az.Check(t.Context(), e.tn, authz.Query{UserID: "x", Permission: "a b"})
		var verr *valid.Error
		if !errors.As(err, &verr) || len(verr.Fields) != 2 {
			t.Errorf("bad query: %v", err)
		}
	})
}

// TestElevationLifecycle runs a privileged role through request,
// self-approval refused, approval, active, expiry by the clock, and early
// revocation, all on a fixed clock.
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
func TestReviewCampaign(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ann, bob, rev := e.user(t, "ann"), e.user(t, "bob"), e.user(t, "rev")
		admins := e.group(t, "=cmd|' /C calc'!A0", userM(bob))
		e.role(t, authz.NewRole{Name: "root", Permissions: []string{"all:*"}, Privileged: true, Approval: "approvers", Approvers: []string{rev.ID}})
		e.role(t, authz.NewRole{Name: "viewer", Permissions: []string{"x:read"}})
		aAnn, _, _ := e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "root")
		e.az.AssignGroup(t.Context(), admin, e.tn, admins.ID, "root")
		e.az.AssignUser(t.Context(), admin, e.tn, ann.ID, "viewer")
		// ann is elevated when the review revokes her.
		el, err := e.az.RequestElevation(t.Context(), admin, e.tn, ann.ID, authz.ElevationRequest{Role: "root", Reason: "r", Duration: "1h"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.az.Decide(t.Context(), asUser(rev.ID), e.tn, el.ID, true); err != nil {
			t.Fatal(err)
		}
		deadline := e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
		camp, err := e.az.CreateCampaign(t.Context(), admin, e.tn, authz.NewCampaign{Name: "Q4 privileged", Scope: "privileged",
			Reviewers: []string{rev.ID, ann.ID}, Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		items, err := e.az.ListItems(t.Context(), e.tn, camp.ID, store.Page{})
		if err != nil || len(items) != 2 {
			t.Fatalf("items = %+v, %v", items, err)
		}
		var annItem, grpItem store.ReviewItem
		for _, it := range items {
			if it.AssignmentID == aAnn.ID {
				annItem = it
			} else {
				grpItem = it
			}
		}
		// ann reviews, but not her own access; a stranger does not review.
		_, err = e.az.DecideItem(t.Context(), admin, e.tn, camp.ID, annItem.ID, authz.ReviewDecision{Decision: "approve", ReviewerID: ann.ID})
		refused(t, "own access", err, "own_access")
		_, err = e.az.DecideItem(t.Context(), admin, e.tn, camp.ID, annItem.ID, authz.ReviewDecision{Decision: "approve", ReviewerID: bob.ID})
		refused(t, "not a reviewer", err, "not_reviewer")
		// Nor the access of a group they are in (at any depth).
		outer := e.group(t, "outer", groupM(admins))
		e.az.AssignGroup(t.Context(), admin, e.tn, outer.ID, "root")
		camp2, err := e.az.CreateCampaign(t.Context(), admin, e.tn, authz.NewCampaign{Name: "groups", Scope: "privileged",
			Reviewers: []string{bob.ID, rev.ID}, Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		items2, _ := e.az.ListItems(t.Context(), e.tn, camp2.ID, store.Page{})
		if !slices.ContainsFunc(items2, func(it store.ReviewItem) bool { return it.GroupID == outer.ID }) {
			t.Fatalf("no item for the outer group: %+v", items2)
		}
		for _, it := range items2 {
			if it.GroupID == outer.ID {
				_, err = e.az.DecideItem(t.Context(), admin, e.tn, camp2.ID, it.ID, authz.ReviewDecision{Decision: "approve", ReviewerID: bob.ID})
				refused(t, "own group's access", err, "own_access")
			}
		}

		if d := e.check(t, ann.ID, "all:thing"); !d.Allowed {
			t.Fatalf("before revocation: %+v", d)
		}
		e.clock.Add(time.Hour / 2)
		decidedAt := e.clock.Now()
		if _, err := e.az.DecideItem(t.Context(), admin, e.tn, camp.ID, annItem.ID,
			authz.ReviewDecision{Decision: "revoke", ReviewerID: rev.ID, Note: "left ops"}); err != nil {
			t.Fatal(err)
		}
		if d := e.check(t, ann.ID, "all:thing"); d.Allowed {
			t.Errorf("after revocation: %+v", d)
		}
		if d := e.check(t, ann.ID, "x:read"); !d.Allowed {
			t.Errorf("revocation took an unreviewed role: %+v", d)
		}
		got, _ := e.az.GetElevation(t.Context(), e.tn, el.ID)
		if got.Status != store.ElevationRevoked {
			t.Errorf("elevation after revocation = %s", got.Status)
		}
		_, err = e.az.DecideItem(t.Context(), admin, e.tn, camp.ID, annItem.ID, authz.ReviewDecision{Decision: "approve", ReviewerID: rev.ID})
		refused(t, "decided twice", err, "decided")
		e.clock.Add(48 * time.Hour)
		_, err = e.az.DecideItem(t.Context(), admin, e.tn, camp.ID, grpItem.ID, authz.ReviewDecision{Decision: "approve", ReviewerID: rev.ID})
		refused(t, "past deadline", err, "deadline_passed")

		_, rows, err := e.az.Report(t.Context(), e.tn, camp.ID)
		if err != nil || len(rows) != 2 {
			t.Fatalf("Report = %+v, %v", rows, err)
		}
		for _, r := range rows {
			switch r.AssignmentID {
			case aAnn.ID:
				if r.Decision != "revoke" || r.DecidedBy != rev.ID || !r.DecidedAt.Equal(decidedAt) || r.Subject != "ann@example.com" || r.Role != "root" {
					t.Errorf("ann row = %+v", r)
				}
			default:
				if r.Decision != "pending" || r.SubjectType != "group" {
					t.Errorf("group row = %+v", r)
				}
			}
		}
		var buf bytes.Buffer
		if err := authz.WriteCSV(&buf, rows); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 3 || recs[0][0] != "item_id" {
			t.Fatalf("CSV = %v, %v", recs, err)
		}
		for _, rec := range recs[1:] {
			if rec[4] == "group" && rec[6] != "'=cmd|' /C calc'!A0" {
				t.Errorf("formula cell not neutralised: %q", rec[6])
			}
		}
	})
}

// TestRoleValidation: bad roles are refused with the field, nothing stored.
func TestRoleValidation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		for name, c := range map[string]struct {
			in    authz.NewRole
			field string
		}{
			"no name":          {authz.NewRole{Permissions: []string{"a"}}, "name"},
			"bad permission":   {authz.NewRole{Name: "r", Permissions: []string{"a b"}}, "permissions"},
			"bad duration":     {authz.NewRole{Name: "r", Privileged: true, MaxDuration: "forever"}, "max_duration"},
			"too long":         {authz.NewRole{Name: "r", Privileged: true, MaxDuration: "200h"}, "max_duration"},
			"no approvers":     {authz.NewRole{Name: "r", Privileged: true}, "approvers"},
			"unknown approver": {authz.NewRole{Name: "r", Privileged: true, Approvers: []string{id()}}, "approvers"},
			"unknown app":      {authz.NewRole{Name: "r", Application: "nope"}, "application"},
			"policy on plain":  {authz.NewRole{Name: "r", Approval: "self_mfa"}, "approval"},
		} {
			_, err := e.az.CreateRole(t.Context(), admin, e.tn, c.in)
			var verr *valid.Error
			if !errors.As(err, &verr) || verr.Fields[0].Field != c.field {
				t.Errorf("%s: got %v, want field %s", name, err, c.field)
			}
		}
		if rs, _ := e.az.ListRoles(t.Context(), e.tn, "", store.Page{}); len(rs) != 0 {
			t.Errorf("refused roles stored: %+v", rs)
		}
		if n := len(e.actions(t)); n != 0 {
			t.Errorf("refused roles audited: %d entries", n)
		}
	})
}

// TestDecideConcurrently: of approvals racing on one request exactly one
// lands; the others see it decided.
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
