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
