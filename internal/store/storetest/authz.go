package storetest

import (
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var authzTests = []test{
	{"Authz/RoleCRUD", testRoleCRUD},
	{"Authz/Assignments", testAssignments},
	{"Authz/UserGrantsNested", testUserGrantsNested},
	{"Authz/Elevations", testElevations},
	{"Authz/BreakGlass", testBreakGlass},
	{"Authz/Reviews", testReviews},
	{"Authz/DecideRace", testDecideRace},
	{"Authz/Isolation", testAuthzIsolation},
	{"Authz/ClientClaims", testClientAuthzClaims},
	{"Authz/Cascades", testAuthzCascades},
	{"Authz/TenantsLacking", testTenantsLacking},
}

func mkRole(t *testing.T, s store.Repos, tn store.TenantID, name string, opts ...func(*store.Role)) *store.Role {
	t.Helper()
	r := &store.Role{ID: newID(), Tenant: tn, Name: name, Permissions: []string{name + ":read"}}
	for _, o := range opts {
		o(r)
	}
	noErr(t, "CreateRole("+name+")", s.Authz().Roles().CreateRole(ctx(t), r))
	return r
}

func assign(t *testing.T, s store.Repos, tn store.TenantID, role, user, group string) *store.Assignment {
	t.Helper()
	a := &store.Assignment{ID: newID(), Tenant: tn, RoleID: role, UserID: user, GroupID: group}
	noErr(t, "Assign", s.Authz().Roles().Assign(ctx(t), a))
	return a
}

func testRoleCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rs := s.Authz().Roles()
	r := mkRole(t, s, tn, "approver", func(r *store.Role) {
		r.Permissions = []string{"invoices:approve", "invoices:read"}
		r.Privileged, r.MaxDuration, r.Approval = true, 8*time.Hour, store.ApprovalApprovers
		r.Approvers, r.RequireMFA, r.Application = []string{"u1"}, true, "app1"
	})
	if r.Version != 1 || r.CreatedAt.IsZero() {
		t.Errorf("CreateRole filled %+v", r)
	}
	got, err := rs.GetRole(ctx(t), tn, r.ID)
	noErr(t, "GetRole", err)
	if !slices.Equal(got.Permissions, r.Permissions) || !got.Privileged || got.MaxDuration != 8*time.Hour ||
		got.Approval != store.ApprovalApprovers || !slices.Equal(got.Approvers, []string{"u1"}) || !got.RequireMFA ||
		got.Application != "app1" {
		t.Errorf("GetRole = %+v", got)
	}
	byName, err := rs.GetRoleByName(ctx(t), tn, "approver")
	noErr(t, "GetRoleByName", err)
	if byName.ID != r.ID {
		t.Errorf("GetRoleByName = %s, want %s", byName.ID, r.ID)
	}
	err = rs.CreateRole(ctx(t), &store.Role{ID: newID(), Tenant: tn, Name: "approver"})
	wantErr(t, "CreateRole(same name)", err, store.ErrConflict)
	err = rs.CreateRole(ctx(t), &store.Role{ID: newID(), Tenant: store.TenantID(newID()), Name: "x"})
	wantErr(t, "CreateRole(missing tenant)", err, store.ErrNotFound)
	other := mkRole(t, s, tn, "viewer")

	up, err := rs.UpdateRole(ctx(t), tn, r.ID, func(x *store.Role) error { x.Permissions = []string{"a"}; return nil })
	noErr(t, "UpdateRole", err)
	if up.Version != 2 || !slices.Equal(up.Permissions, []string{"a"}) {
		t.Errorf("UpdateRole = %+v", up)
	}
	_, err = rs.UpdateRole(ctx(t), tn, r.ID, func(x *store.Role) error { x.Name = "viewer"; return nil })
	wantErr(t, "UpdateRole(taken name)", err, store.ErrConflict)
	_, err = rs.UpdateRole(ctx(t), tn, r.ID, func(*store.Role) error { return errClosure })
	if err != errClosure {
		t.Errorf("UpdateRole: closure error came back as %v", err)
	}

	all, err := rs.ListRoles(ctx(t), tn, "", store.Page{})
	noErr(t, "ListRoles", err)
	if len(all) != 2 {
		t.Errorf("ListRoles = %d roles, want 2", len(all))
	}
	app, err := rs.ListRoles(ctx(t), tn, "app1", store.Page{})
	noErr(t, "ListRoles(app1)", err)
	if len(app) != 1 || app[0].ID != r.ID {
		t.Errorf("ListRoles(app1) = %+v", app)
	}

	u := mkUser(t, s, tn, "ann")
	a := assign(t, s, tn, r.ID, u.ID, "")
	noErr(t, "DeleteRole", rs.DeleteRole(ctx(t), tn, r.ID))
	_, err = rs.GetAssignment(ctx(t), tn, a.ID)
	wantErr(t, "GetAssignment after DeleteRole", err, store.ErrNotFound)
	wantErr(t, "DeleteRole again", rs.DeleteRole(ctx(t), tn, r.ID), store.ErrNotFound)
	_, err = rs.GetRole(ctx(t), tn, other.ID)
	noErr(t, "GetRole(other)", err)
}

func testAssignments(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rs := s.Authz().Roles()
	r := mkRole(t, s, tn, "editor")
	p := mkRole(t, s, tn, "admin", func(r *store.Role) { r.Privileged, r.Application = true, "app" })
	u := mkUser(t, s, tn, "ann")
	g := mkGroup(t, s, tn, "staff")
	au := assign(t, s, tn, r.ID, u.ID, "")
	ag := assign(t, s, tn, r.ID, "", g.ID)
	ap := assign(t, s, tn, p.ID, u.ID, "")

	err := rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: tn, RoleID: r.ID, UserID: u.ID})
	wantErr(t, "Assign(again)", err, store.ErrConflict)
	err = rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: tn, RoleID: newID(), UserID: u.ID})
	wantErr(t, "Assign(missing role)", err, store.ErrNotFound)
	err = rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: tn, RoleID: r.ID, UserID: newID()})
	wantErr(t, "Assign(missing user)", err, store.ErrNotFound)
	err = rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: tn, RoleID: r.ID, GroupID: newID()})
	wantErr(t, "Assign(missing group)", err, store.ErrNotFound)
	if err := rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: tn, RoleID: r.ID, UserID: u.ID, GroupID: g.ID}); err == nil {
		t.Error("Assign(user and group) succeeded")
	}

	ids := func(as []store.Assignment) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(x ...string) []string { sort.Strings(x); return x }
	for name, c := range map[string]struct {
		q    store.AssignmentQuery
		want []string
	}{
		"all":        {store.AssignmentQuery{}, sorted(au.ID, ag.ID, ap.ID)},
		"role":       {store.AssignmentQuery{RoleID: r.ID}, sorted(au.ID, ag.ID)},
		"user":       {store.AssignmentQuery{UserID: u.ID}, sorted(au.ID, ap.ID)},
		"group":      {store.AssignmentQuery{GroupID: g.ID}, []string{ag.ID}},
		"privileged": {store.AssignmentQuery{Privileged: true}, []string{ap.ID}},
		"app":        {store.AssignmentQuery{Application: "app"}, []string{ap.ID}},
	} {
		got, err := rs.ListAssignments(ctx(t), tn, c.q)
		noErr(t, "ListAssignments "+name, err)
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("ListAssignments %s = %v, want %v", name, ids(got), c.want)
		}
	}
	got, err := rs.GetAssignment(ctx(t), tn, ag.ID)
	noErr(t, "GetAssignment", err)
	if got.GroupID != g.ID || got.UserID != "" || got.RoleID != r.ID {
		t.Errorf("GetAssignment = %+v", got)
	}
	noErr(t, "Unassign", rs.Unassign(ctx(t), tn, au.ID))
	wantErr(t, "Unassign again", rs.Unassign(ctx(t), tn, au.ID), store.ErrNotFound)
	// The group's assignment goes with the group.
	noErr(t, "DeleteGroup", s.Groups().DeleteGroup(ctx(t), tn, g.ID))
	_, err = rs.GetAssignment(ctx(t), tn, ag.ID)
	wantErr(t, "GetAssignment after DeleteGroup", err, store.ErrNotFound)
}

// testUserGrantsNested: a role given to an outer group reaches a user of
// an inner group, named with the group it came through; a cycle is refused
// and the lookup still ends; elevations count only while live.
func testUserGrantsNested(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rs := s.Authz().Roles()
	u := mkUser(t, s, tn, "ann")
	bob := mkUser(t, s, tn, "bob")
	inner, mid, outer := mkGroup(t, s, tn, "inner"), mkGroup(t, s, tn, "mid"), mkGroup(t, s, tn, "outer")
	addMember(t, s, tn, inner.ID, store.MemberUser, u.ID)
	addMember(t, s, tn, mid.ID, store.MemberGroup, inner.ID)
	addMember(t, s, tn, outer.ID, store.MemberGroup, mid.ID)
	err := s.Groups().AddMember(ctx(t), tn, inner.ID, store.Member{Type: store.MemberGroup, ID: outer.ID})
	wantErr(t, "AddMember(cycle)", err, store.ErrCycle)

	viewer := mkRole(t, s, tn, "viewer")
	editor := mkRole(t, s, tn, "editor")
	admin := mkRole(t, s, tn, "admin", func(r *store.Role) { r.Privileged = true })
	assign(t, s, tn, viewer.ID, "", outer.ID)
	assign(t, s, tn, editor.ID, u.ID, "")
	assign(t, s, tn, admin.ID, "", mid.ID)

	now := time.Now().UTC()
	gs, err := rs.UserGrants(ctx(t), tn, u.ID, now)
	noErr(t, "UserGrants", err)
	via := map[string]string{}
	for _, g := range gs {
		if g.ElevationID != "" {
			t.Errorf("unexpected elevation grant %+v", g)
		}
		via[g.Role.Name] = g.GroupName
	}
	want := map[string]string{"viewer": "outer", "editor": "", "admin": "mid"}
	if len(via) != 3 || via["viewer"] != want["viewer"] || via["editor"] != "" || via["admin"] != "mid" {
		t.Errorf("UserGrants via = %v, want %v", via, want)
	}
	for _, g := range gs {
		if g.Role.Name == "viewer" && (g.GroupID != outer.ID || !slices.Equal(g.Role.Permissions, []string{"viewer:read"})) {
			t.Errorf("viewer grant = %+v", g)
		}
	}
	none, err := rs.UserGrants(ctx(t), tn, bob.ID, now)
	noErr(t, "UserGrants(bob)", err)
	if len(none) != 0 {
		t.Errorf("UserGrants(bob) = %+v, want none", none)
	}
	none, err = rs.UserGrants(ctx(t), tn, newID(), now)
	if err != nil || len(none) != 0 {
		t.Errorf("UserGrants(unknown) = %+v, %v", none, err)
	}

	es := s.Authz().Elevations()
	live := &store.Elevation{ID: newID(), Tenant: tn, RoleID: admin.ID, UserID: u.ID, Reason: "incident", Duration: time.Hour,
		Status: store.ElevationApproved, DecidedAt: now, ExpiresAt: now.Add(time.Hour)}
	noErr(t, "CreateElevation(live)", es.CreateElevation(ctx(t), live))
	expired := &store.Elevation{ID: newID(), Tenant: tn, RoleID: admin.ID, UserID: u.ID, Reason: "old", Duration: time.Hour,
		Status: store.ElevationApproved, DecidedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	noErr(t, "CreateElevation(expired)", es.CreateElevation(ctx(t), expired))
	pending := &store.Elevation{ID: newID(), Tenant: tn, RoleID: admin.ID, UserID: u.ID, Reason: "p", Duration: time.Hour,
		Status: store.ElevationPending}
	noErr(t, "CreateElevation(pending)", es.CreateElevation(ctx(t), pending))
	gs, err = rs.UserGrants(ctx(t), tn, u.ID, now)
	noErr(t, "UserGrants with elevations", err)
	var elev []store.Grant
	for _, g := range gs {
		if g.ElevationID != "" {
			elev = append(elev, g)
		}
	}
	if len(elev) != 1 || elev[0].ElevationID != live.ID || elev[0].Role.ID != admin.ID || !elev[0].ExpiresAt.Equal(live.ExpiresAt) {
		t.Errorf("elevation grants = %+v, want only %s", elev, live.ID)
	}
	// At the expiry instant it is over.
	gs, err = rs.UserGrants(ctx(t), tn, u.ID, live.ExpiresAt)
	noErr(t, "UserGrants at expiry", err)
	for _, g := range gs {
		if g.ElevationID != "" {
			t.Errorf("elevation still live at its expiry: %+v", g)
		}
	}
}

func testElevations(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	es := s.Authz().Elevations()
	u := mkUser(t, s, tn, "ann")
	r := mkRole(t, s, tn, "admin", func(r *store.Role) { r.Privileged = true })
	now := time.Now().UTC()
	e := &store.Elevation{ID: newID(), Tenant: tn, RoleID: r.ID, UserID: u.ID, Reason: "fix prod", Duration: 90 * time.Minute,
		Status: store.ElevationPending}
	noErr(t, "CreateElevation", es.CreateElevation(ctx(t), e))
	err := es.CreateElevation(ctx(t), &store.Elevation{ID: newID(), Tenant: tn, RoleID: newID(), UserID: u.ID, Status: "pending"})
	wantErr(t, "CreateElevation(missing role)", err, store.ErrNotFound)
	got, err := es.GetElevation(ctx(t), tn, e.ID)
	noErr(t, "GetElevation", err)
	if got.Reason != "fix prod" || got.Duration != 90*time.Minute || got.Status != store.ElevationPending ||
		!got.ExpiresAt.IsZero() || got.RequestedAt.IsZero() {
		t.Errorf("GetElevation = %+v", got)
	}
	up, err := es.UpdateElevation(ctx(t), tn, e.ID, func(x *store.Elevation) error {
		x.Status, x.DecidedBy, x.DecidedAt, x.ExpiresAt = store.ElevationApproved, "boss", now, now.Add(x.Duration)
		return nil
	})
	noErr(t, "UpdateElevation", err)
	if up.Status != store.ElevationApproved || up.DecidedBy != "boss" || !up.ExpiresAt.Equal(micro(now.Add(90*time.Minute))) {
		t.Errorf("UpdateElevation = %+v", up)
	}
	_, err = es.UpdateElevation(ctx(t), tn, e.ID, func(x *store.Elevation) error { x.UserID = newID(); return nil })
	if err == nil {
		t.Error("UpdateElevation let the closure change the user")
	}
	list, err := es.ListElevations(ctx(t), tn, store.ElevationQuery{UserID: u.ID, Status: store.ElevationApproved})
	noErr(t, "ListElevations", err)
	if len(list) != 1 || list[0].ID != e.ID {
		t.Errorf("ListElevations = %+v", list)
	}
	n, err := es.RevokeUserRoleElevations(ctx(t), tn, u.ID, r.ID, "reviewer", now.Add(time.Minute))
	noErr(t, "RevokeUserRoleElevations", err)
	if n != 1 {
		t.Errorf("RevokeUserRoleElevations = %d, want 1", n)
	}
	got, _ = es.GetElevation(ctx(t), tn, e.ID)
	if got.Status != store.ElevationRevoked || got.RevokedBy != "reviewer" || got.RevokedAt.IsZero() {
		t.Errorf("after revoke = %+v", got)
	}
	n, err = es.RevokeUserRoleElevations(ctx(t), tn, u.ID, r.ID, "reviewer", now.Add(time.Minute))
	if err != nil || n != 0 {
		t.Errorf("RevokeUserRoleElevations again = %d, %v", n, err)
	}
}

func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

func testBreakGlass(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	bg := s.Authz().BreakGlass()
	u := mkUser(t, s, tn, "ann")
	noErr(t, "AddBreakGlass", bg.AddBreakGlass(ctx(t), &store.BreakGlassAccount{Tenant: tn, UserID: u.ID, Note: "vault"}))
	wantErr(t, "AddBreakGlass again", bg.AddBreakGlass(ctx(t), &store.BreakGlassAccount{Tenant: tn, UserID: u.ID}), store.ErrConflict)
	wantErr(t, "AddBreakGlass(missing user)", bg.AddBreakGlass(ctx(t), &store.BreakGlassAccount{Tenant: tn, UserID: newID()}), store.ErrNotFound)
	yes, err := bg.IsBreakGlass(ctx(t), tn, u.ID)
	if err != nil || !yes {
		t.Errorf("IsBreakGlass = %v, %v", yes, err)
	}
	list, err := bg.ListBreakGlass(ctx(t), tn)
	noErr(t, "ListBreakGlass", err)
	if len(list) != 1 || list[0].UserID != u.ID || list[0].Note != "vault" {
		t.Errorf("ListBreakGlass = %+v", list)
	}
	noErr(t, "RemoveBreakGlass", bg.RemoveBreakGlass(ctx(t), tn, u.ID))
	wantErr(t, "RemoveBreakGlass again", bg.RemoveBreakGlass(ctx(t), tn, u.ID), store.ErrNotFound)
	if yes, _ := bg.IsBreakGlass(ctx(t), tn, u.ID); yes {
		t.Error("IsBreakGlass after remove")
	}
}

func mkCampaign(t *testing.T, s store.Repos, tn store.TenantID, n int) (*store.ReviewCampaign, []store.ReviewItem) {
	t.Helper()
	c := &store.ReviewCampaign{ID: newID(), Tenant: tn, Name: "Q1", Scope: store.ReviewPrivileged,
		Reviewers: []string{"rev"}, Deadline: time.Now().Add(24 * time.Hour)}
	items := make([]store.ReviewItem, n)
	for i := range items {
		items[i] = store.ReviewItem{ID: newID(), AssignmentID: newID(), RoleID: newID(), RoleName: "admin", UserID: newID(),
			SubjectName: "ann@example.com"}
	}
	noErr(t, "CreateCampaign", s.Authz().Reviews().CreateCampaign(ctx(t), c, items))
	return c, items
}

func testReviews(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rv := s.Authz().Reviews()
	c, items := mkCampaign(t, s, tn, 3)
	got, err := rv.GetCampaign(ctx(t), tn, c.ID)
	noErr(t, "GetCampaign", err)
	if got.Name != "Q1" || !slices.Equal(got.Reviewers, []string{"rev"}) || !got.Deadline.Equal(c.Deadline) {
		t.Errorf("GetCampaign = %+v", got)
	}
	cs, err := rv.ListCampaigns(ctx(t), tn, store.Page{})
	noErr(t, "ListCampaigns", err)
	if len(cs) != 1 {
		t.Errorf("ListCampaigns = %d", len(cs))
	}
	its, err := rv.ListItems(ctx(t), tn, c.ID, store.Page{})
	noErr(t, "ListItems", err)
	if len(its) != 3 || its[0].CampaignID != c.ID || its[0].RoleName != "admin" {
		t.Errorf("ListItems = %+v", its)
	}
	_, err = rv.ListItems(ctx(t), tn, newID(), store.Page{})
	wantErr(t, "ListItems(missing campaign)", err, store.ErrNotFound)
	at := time.Now().UTC()
	it, err := rv.DecideItem(ctx(t), tn, c.ID, items[0].ID, store.DecisionRevoke, "rev", "left the team", at)
	noErr(t, "DecideItem", err)
	if it.Decision != store.DecisionRevoke || it.DecidedBy != "rev" || it.Note != "left the team" || !it.DecidedAt.Equal(micro(at)) {
		t.Errorf("DecideItem = %+v", it)
	}
	_, err = rv.DecideItem(ctx(t), tn, c.ID, items[0].ID, store.DecisionApprove, "rev", "", at)
	wantErr(t, "DecideItem again", err, store.ErrConflict)
	_, err = rv.DecideItem(ctx(t), tn, c.ID, newID(), store.DecisionApprove, "rev", "", at)
	wantErr(t, "DecideItem(missing)", err, store.ErrNotFound)
}

// testDecideRace: of concurrent decisions on one item exactly one lands.
func testDecideRace(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	c, items := mkCampaign(t, s, tn, 1)
	const n = 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won, lost int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := store.DecisionApprove
			if i%2 == 0 {
				d = store.DecisionRevoke
			}
			_, err := s.Authz().Reviews().DecideItem(ctx(t), tn, c.ID, items[0].ID, d, "rev", "", time.Now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case isErr(err, store.ErrConflict):
				lost++
			default:
				t.Errorf("DecideItem: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Errorf("won %d, lost %d; want 1 and %d", won, lost, n-1)
	}
}

func testAuthzIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	r := mkRole(t, s, a, "admin")
	ua := mkUser(t, s, a, "ann")
	ub := mkUser(t, s, b, "bob")
	as := assign(t, s, a, r.ID, ua.ID, "")
	rs := s.Authz().Roles()
	_, err := rs.GetRole(ctx(t), b, r.ID)
	wantErr(t, "GetRole(other tenant)", err, store.ErrNotFound)
	_, err = rs.GetRoleByName(ctx(t), b, "admin")
	wantErr(t, "GetRoleByName(other tenant)", err, store.ErrNotFound)
	_, err = rs.UpdateRole(ctx(t), b, r.ID, func(*store.Role) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateRole(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteRole(other tenant)", rs.DeleteRole(ctx(t), b, r.ID), store.ErrNotFound)
	err = rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: b, RoleID: r.ID, UserID: ub.ID})
	wantErr(t, "Assign(role of other tenant)", err, store.ErrNotFound)
	err = rs.Assign(ctx(t), &store.Assignment{ID: newID(), Tenant: a, RoleID: r.ID, UserID: ub.ID})
	wantErr(t, "Assign(user of other tenant)", err, store.ErrNotFound)
	wantErr(t, "Unassign(other tenant)", rs.Unassign(ctx(t), b, as.ID), store.ErrNotFound)
	if l, _ := rs.ListRoles(ctx(t), b, "", store.Page{}); len(l) != 0 {
		t.Errorf("ListRoles(b) = %+v", l)
	}
	if l, _ := rs.ListAssignments(ctx(t), b, store.AssignmentQuery{}); len(l) != 0 {
		t.Errorf("ListAssignments(b) = %+v", l)
	}
	if g, _ := rs.UserGrants(ctx(t), b, ua.ID, time.Now()); len(g) != 0 {
		t.Errorf("UserGrants(b, ann) = %+v", g)
	}
	c, items := mkCampaign(t, s, a, 1)
	_, err = s.Authz().Reviews().GetCampaign(ctx(t), b, c.ID)
	wantErr(t, "GetCampaign(other tenant)", err, store.ErrNotFound)
	_, err = s.Authz().Reviews().DecideItem(ctx(t), b, c.ID, items[0].ID, store.DecisionRevoke, "x", "", time.Now())
	wantErr(t, "DecideItem(other tenant)", err, store.ErrNotFound)
	err = s.Authz().BreakGlass().AddBreakGlass(ctx(t), &store.BreakGlassAccount{Tenant: b, UserID: ua.ID})
	wantErr(t, "AddBreakGlass(user of other tenant)", err, store.ErrNotFound)
	err = s.Authz().Elevations().CreateElevation(ctx(t), &store.Elevation{ID: newID(), Tenant: b, RoleID: r.ID, UserID: ub.ID, Status: "pending"})
	wantErr(t, "CreateElevation(role of other tenant)", err, store.ErrNotFound)
}

func testClientAuthzClaims(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	c := &store.Client{ID: "app", Tenant: tn, Name: "App", AuthzClaims: store.AuthzClaims{RolesClaim: "roles", ApplicationOnly: true}}
	noErr(t, "CreateClient", s.OAuth().Clients().CreateClient(ctx(t), c))
	got, err := s.OAuth().Clients().GetClient(ctx(t), tn, "app")
	noErr(t, "GetClient", err)
	if got.AuthzClaims != c.AuthzClaims {
		t.Errorf("AuthzClaims = %+v, want %+v", got.AuthzClaims, c.AuthzClaims)
	}
	up, err := s.OAuth().Clients().UpdateClient(ctx(t), tn, "app", func(x *store.Client) error {
		x.AuthzClaims.PermissionsClaim = "perms"
		return nil
	})
	noErr(t, "UpdateClient", err)
	got, _ = s.OAuth().Clients().GetClient(ctx(t), tn, "app")
	if got.AuthzClaims.PermissionsClaim != "perms" || up.AuthzClaims != got.AuthzClaims {
		t.Errorf("after update AuthzClaims = %+v", got.AuthzClaims)
	}
}

// testAuthzCascades: what names a user goes with the user; everything of a
// tenant goes with the tenant, and another tenant keeps its own.
func testAuthzCascades(t *testing.T, s store.Store) {
	mk := func(tn store.TenantID, name string) (*store.Role, *store.User, *store.Assignment, *store.Elevation, *store.ReviewCampaign) {
		r := mkRole(t, s, tn, name, func(r *store.Role) { r.Privileged = true })
		u := mkUser(t, s, tn, name)
		a := assign(t, s, tn, r.ID, u.ID, "")
		e := &store.Elevation{ID: newID(), Tenant: tn, RoleID: r.ID, UserID: u.ID, Reason: "r", Duration: time.Hour, Status: store.ElevationPending}
		noErr(t, "CreateElevation", s.Authz().Elevations().CreateElevation(ctx(t), e))
		noErr(t, "AddBreakGlass", s.Authz().BreakGlass().AddBreakGlass(ctx(t), &store.BreakGlassAccount{Tenant: tn, UserID: u.ID}))
		c, _ := mkCampaign(t, s, tn, 1)
		return r, u, a, e, c
	}
	ta, tb := mkTenant(t, s), mkTenant(t, s)
	_, ua, aa, ea, _ := mk(ta, "ann")
	rb, _, ab, eb, cb := mk(tb, "ann")

	// The user goes: its assignment, elevation and mark with it.
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), ta, ua.ID))
	_, err := s.Authz().Roles().GetAssignment(ctx(t), ta, aa.ID)
	wantErr(t, "assignment after DeleteUser", err, store.ErrNotFound)
	_, err = s.Authz().Elevations().GetElevation(ctx(t), ta, ea.ID)
	wantErr(t, "elevation after DeleteUser", err, store.ErrNotFound)
	if l, _ := s.Authz().BreakGlass().ListBreakGlass(ctx(t), ta); len(l) != 0 {
		t.Errorf("break-glass marks after DeleteUser: %+v", l)
	}

	// The tenant goes: everything of it, nothing of the other.
	_, _, aa2, _, ca := mk(ta, "bob")
	noErr(t, "DeleteTenant", s.Tenants().DeleteTenant(ctx(t), ta))
	if l, _ := s.Authz().Roles().ListRoles(ctx(t), ta, "", store.Page{}); len(l) != 0 {
		t.Errorf("roles after DeleteTenant: %+v", l)
	}
	_, err = s.Authz().Roles().GetAssignment(ctx(t), ta, aa2.ID)
	wantErr(t, "assignment after DeleteTenant", err, store.ErrNotFound)
	_, err = s.Authz().Reviews().GetCampaign(ctx(t), ta, ca.ID)
	wantErr(t, "campaign after DeleteTenant", err, store.ErrNotFound)
	if l, _ := s.Authz().Elevations().ListElevations(ctx(t), ta, store.ElevationQuery{}); len(l) != 0 {
		t.Errorf("elevations after DeleteTenant: %+v", l)
	}
	_, err = s.Authz().Roles().GetRole(ctx(t), tb, rb.ID)
	noErr(t, "other tenant's role", err)
	_, err = s.Authz().Roles().GetAssignment(ctx(t), tb, ab.ID)
	noErr(t, "other tenant's assignment", err)
	_, err = s.Authz().Elevations().GetElevation(ctx(t), tb, eb.ID)
	noErr(t, "other tenant's elevation", err)
	if its, err := s.Authz().Reviews().ListItems(ctx(t), tb, cb.ID, store.Page{}); err != nil || len(its) != 1 {
		t.Errorf("other tenant's review items: %+v, %v", its, err)
	}
}

// testTenantsLacking: the start-up check of the built-in roles finds, in
// one query and by page, exactly the tenants that lack a role of one of
// the names, whatever other roles they have.
func testTenantsLacking(t *testing.T, s store.Store) {
	full, partial, none := mkTenant(t, s), mkTenant(t, s), mkTenant(t, s)
	a, b := "lack-a-"+newID(), "lack-b-"+newID()
	mkRole(t, s, full, a)
	mkRole(t, s, full, b)
	mkRole(t, s, partial, a)
	mkRole(t, s, partial, "other")
	mkRole(t, s, none, "other")
	lacking := func(names ...string) map[store.TenantID]bool {
		out := map[store.TenantID]bool{}
		for p := (store.Page{Limit: 2}); ; {
			ts, err := s.Authz().Roles().TenantsLacking(ctx(t), names, p)
			noErr(t, "TenantsLacking", err)
			for _, tn := range ts {
				if out[tn] {
					t.Fatalf("TenantsLacking answered %s twice", tn)
				}
				out[tn] = true
			}
			if len(ts) < p.Limit {
				return out
			}
			p.After = string(ts[len(ts)-1])
		}
	}
	got := lacking(a, b)
	if got[full] || !got[partial] || !got[none] {
		t.Errorf("lacking %s or %s: full %v, partial %v, none %v; want false, true, true", a, b, got[full], got[partial], got[none])
	}
	got = lacking(a)
	if got[full] || got[partial] || !got[none] {
		t.Errorf("lacking %s: full %v, partial %v, none %v; want false, false, true", a, got[full], got[partial], got[none])
	}
	if got := lacking(); len(got) != 0 {
		t.Errorf("lacking no names: %v", got)
	}
}
