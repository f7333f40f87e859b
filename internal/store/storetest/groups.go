package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var groupTests = []test{
	{"Group/CRUD", testGroupCRUD},
	{"Group/Members", testGroupMembers},
	{"Group/Cycles", testGroupCycles},
	{"Group/CycleRace", testGroupCycleRace},
	{"Group/UserGroups", testUserGroups},
	{"Group/DeleteCascades", testGroupDeleteCascades},
	{"Group/Isolation", testGroupIsolation},
}

func testGroupCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	gs := s.Groups()
	g := &store.Group{ID: newID(), Tenant: tn, Name: "admins", Description: "Admins"}
	noErr(t, "CreateGroup", gs.CreateGroup(ctx(t), g))
	if g.Version != 1 || g.CreatedAt.IsZero() {
		t.Errorf("CreateGroup filled %+v", g)
	}
	got, err := gs.GetGroup(ctx(t), tn, g.ID)
	noErr(t, "GetGroup", err)
	if got.Name != "admins" || got.Description != "Admins" || got.Tenant != tn || got.Version != 1 {
		t.Errorf("GetGroup = %+v", got)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, g.CreatedAt)
	_, err = gs.GetGroup(ctx(t), tn, newID())
	wantErr(t, "GetGroup(missing)", err, store.ErrNotFound)

	err = gs.CreateGroup(ctx(t), &store.Group{ID: newID(), Tenant: tn, Name: "admins"})
	wantErr(t, "CreateGroup(same name)", err, store.ErrConflict)
	err = gs.CreateGroup(ctx(t), &store.Group{ID: g.ID, Tenant: tn, Name: "other"})
	wantErr(t, "CreateGroup(same id)", err, store.ErrConflict)
	err = gs.CreateGroup(ctx(t), &store.Group{ID: newID(), Tenant: store.TenantID(newID()), Name: "x"})
	wantErr(t, "CreateGroup(missing tenant)", err, store.ErrNotFound)

	other := mkGroup(t, s, tn, "users")
	up, err := gs.UpdateGroup(ctx(t), tn, g.ID, func(x *store.Group) error { x.Name, x.Description = "root", "Root"; return nil })
	noErr(t, "UpdateGroup", err)
	if up.Name != "root" || up.Version != 2 || !up.CreatedAt.Equal(g.CreatedAt) {
		t.Errorf("UpdateGroup = %+v", up)
	}
	_, err = gs.UpdateGroup(ctx(t), tn, g.ID, func(x *store.Group) error { x.Name = "users"; return nil })
	wantErr(t, "UpdateGroup(taken name)", err, store.ErrConflict)
	_, err = gs.UpdateGroup(ctx(t), tn, g.ID, func(x *store.Group) error { x.Name = "zzz"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateGroup: closure error came back as %v", err)
	}
	_, err = gs.UpdateGroup(ctx(t), tn, newID(), func(*store.Group) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateGroup(missing)", err, store.ErrNotFound)
	got, err = gs.GetGroup(ctx(t), tn, g.ID)
	noErr(t, "GetGroup", err)
	if got.Name != "root" || got.Version != 2 {
		t.Errorf("after refused updates GetGroup = %+v", got)
	}

	list, err := gs.ListGroups(ctx(t), tn, store.Page{})
	noErr(t, "ListGroups", err)
	sameIDs(t, "ListGroups", groupIDs(list), sortedIDs(g.ID, other.ID))
	first, err := gs.ListGroups(ctx(t), tn, store.Page{Limit: 1})
	noErr(t, "ListGroups(Limit 1)", err)
	rest, err := gs.ListGroups(ctx(t), tn, store.Page{After: first[0].ID})
	noErr(t, "ListGroups(After)", err)
	sameIDs(t, "paged groups", append(groupIDs(first), groupIDs(rest)...), sortedIDs(g.ID, other.ID))

	noErr(t, "DeleteGroup", gs.DeleteGroup(ctx(t), tn, g.ID))
	_, err = gs.GetGroup(ctx(t), tn, g.ID)
	wantErr(t, "GetGroup(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteGroup(again)", gs.DeleteGroup(ctx(t), tn, g.ID), store.ErrNotFound)
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func members(t *testing.T, s store.Store, tn store.TenantID, g string) []store.Member {
	t.Helper()
	ms, err := s.Groups().ListMembers(ctx(t), tn, g, store.Page{})
	noErr(t, "ListMembers", err)
	return ms
}

func testGroupMembers(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	gs := s.Groups()
	g, sub := mkGroup(t, s, tn, "g"), mkGroup(t, s, tn, "sub")
	u1, u2 := mkUser(t, s, tn, "m1"), mkUser(t, s, tn, "m2")
	addMember(t, s, tn, g.ID, store.MemberUser, u1.ID)
	addMember(t, s, tn, g.ID, store.MemberUser, u2.ID)
	addMember(t, s, tn, g.ID, store.MemberGroup, sub.ID)

	wantErr(t, "AddMember(user twice)", gs.AddMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberUser, ID: u1.ID}), store.ErrConflict)
	wantErr(t, "AddMember(group twice)", gs.AddMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberGroup, ID: sub.ID}), store.ErrConflict)
	wantErr(t, "AddMember(missing user)", gs.AddMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberUser, ID: newID()}), store.ErrNotFound)
	wantErr(t, "AddMember(missing child group)", gs.AddMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberGroup, ID: newID()}), store.ErrNotFound)
	wantErr(t, "AddMember(user to missing group)", gs.AddMember(ctx(t), tn, newID(), store.Member{Type: store.MemberUser, ID: u1.ID}), store.ErrNotFound)
	wantErr(t, "AddMember(group to missing group)", gs.AddMember(ctx(t), tn, newID(), store.Member{Type: store.MemberGroup, ID: sub.ID}), store.ErrNotFound)
	if err := gs.AddMember(ctx(t), tn, g.ID, store.Member{Type: "robot", ID: u1.ID}); err == nil {
		t.Error("AddMember accepted an unknown member type")
	}

	want := []store.Member{{Type: store.MemberUser, ID: u1.ID}, {Type: store.MemberUser, ID: u2.ID}, {Type: store.MemberGroup, ID: sub.ID}}
	slices.SortFunc(want, func(a, b store.Member) int { return compare(a.ID, b.ID) })
	if got := members(t, s, tn, g.ID); !slices.Equal(got, want) {
		t.Errorf("ListMembers = %v, want %v", got, want)
	}
	p1, err := gs.ListMembers(ctx(t), tn, g.ID, store.Page{Limit: 2})
	noErr(t, "ListMembers(Limit 2)", err)
	p2, err := gs.ListMembers(ctx(t), tn, g.ID, store.Page{After: p1[len(p1)-1].ID, Limit: 2})
	noErr(t, "ListMembers(After)", err)
	if got := append(p1, p2...); !slices.Equal(got, want) {
		t.Errorf("paged ListMembers = %v, want %v", got, want)
	}
	if got := members(t, s, tn, sub.ID); len(got) != 0 {
		t.Errorf("ListMembers(empty group) = %v", got)
	}
	_, err = gs.ListMembers(ctx(t), tn, newID(), store.Page{})
	wantErr(t, "ListMembers(missing group)", err, store.ErrNotFound)

	noErr(t, "RemoveMember(user)", gs.RemoveMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberUser, ID: u1.ID}))
	noErr(t, "RemoveMember(group)", gs.RemoveMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberGroup, ID: sub.ID}))
	wantErr(t, "RemoveMember(again)", gs.RemoveMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberUser, ID: u1.ID}), store.ErrNotFound)
	wantErr(t, "RemoveMember(wrong type)", gs.RemoveMember(ctx(t), tn, g.ID, store.Member{Type: store.MemberGroup, ID: u2.ID}), store.ErrNotFound)
	if got := members(t, s, tn, g.ID); !slices.Equal(got, []store.Member{{Type: store.MemberUser, ID: u2.ID}}) {
		t.Errorf("after RemoveMember ListMembers = %v", got)
	}
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testGroupCycles(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	gs := s.Groups()
	a, b, c := mkGroup(t, s, tn, "A"), mkGroup(t, s, tn, "B"), mkGroup(t, s, tn, "C")
	addMember(t, s, tn, a.ID, store.MemberGroup, b.ID)
	addMember(t, s, tn, b.ID, store.MemberGroup, c.ID)
	for _, e := range []struct{ name, parent, child string }{
		{"A into C", c.ID, a.ID}, {"B into C", c.ID, b.ID}, {"A into B", b.ID, a.ID}, {"A into A", a.ID, a.ID},
	} {
		err := gs.AddMember(ctx(t), tn, e.parent, store.Member{Type: store.MemberGroup, ID: e.child})
		wantErr(t, "AddMember("+e.name+")", err, store.ErrCycle)
	}
	wantErr(t, "AddMember(missing into itself)", gs.AddMember(ctx(t), tn, "x", store.Member{Type: store.MemberGroup, ID: "x"}), store.ErrNotFound)
	// A shortcut edge (C also directly in A) is no cycle.
	addMember(t, s, tn, a.ID, store.MemberGroup, c.ID)
	if got := members(t, s, tn, c.ID); len(got) != 0 {
		t.Errorf("refused edges were written: C has members %v", got)
	}
}

// testGroupCycleRace: A-into-B and B-into-A at once must not both succeed,
// or the graph would hold a cycle.
func testGroupCycleRace(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	for round := range 10 {
		a, b := mkGroup(t, s, tn, "ra"+string(rune('a'+round))), mkGroup(t, s, tn, "rb"+string(rune('a'+round)))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, e := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Go(func() {
				<-start
				errs[i] = s.Groups().AddMember(ctx(t), tn, e[0], store.Member{Type: store.MemberGroup, ID: e[1]})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrCycle):
				t.Errorf("round %d: AddMember: %v, want nil or ErrCycle", round, err)
			}
		}
		edges := len(members(t, s, tn, a.ID)) + len(members(t, s, tn, b.ID))
		if ok != 1 || edges != 1 {
			t.Errorf("round %d: %d adds succeeded leaving %d edges, want exactly 1 (errors %v)", round, ok, edges, errs)
		}
	}
}

func testUserGroups(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	gs := s.Groups()
	top, mid, low, side := mkGroup(t, s, tn, "top"), mkGroup(t, s, tn, "mid"), mkGroup(t, s, tn, "low"), mkGroup(t, s, tn, "side")
	addMember(t, s, tn, top.ID, store.MemberGroup, mid.ID)
	addMember(t, s, tn, mid.ID, store.MemberGroup, low.ID)
	addMember(t, s, tn, side.ID, store.MemberGroup, low.ID) // two parents
	u := mkUser(t, s, tn, "ug")
	addMember(t, s, tn, low.ID, store.MemberUser, u.ID)
	addMember(t, s, tn, top.ID, store.MemberUser, u.ID) // also directly at the top
	direct, err := gs.UserGroups(ctx(t), tn, u.ID, false)
	noErr(t, "UserGroups(direct)", err)
	sameIDs(t, "UserGroups(direct)", groupIDs(direct), sortedIDs(low.ID, top.ID))
	all, err := gs.UserGroups(ctx(t), tn, u.ID, true)
	noErr(t, "UserGroups(transitive)", err)
	sameIDs(t, "UserGroups(transitive)", groupIDs(all), sortedIDs(top.ID, mid.ID, low.ID, side.ID))
	if all[0].Name == "" || all[0].Tenant != tn {
		t.Errorf("UserGroups answered incomplete groups: %+v", all[0])
	}
	loner := mkUser(t, s, tn, "loner")
	none, err := gs.UserGroups(ctx(t), tn, loner.ID, true)
	noErr(t, "UserGroups(no groups)", err)
	if len(none) != 0 {
		t.Errorf("UserGroups(no groups) = %v", groupIDs(none))
	}
	_, err = gs.UserGroups(ctx(t), tn, newID(), false)
	wantErr(t, "UserGroups(missing user)", err, store.ErrNotFound)
}

func testGroupDeleteCascades(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	a, b, c := mkGroup(t, s, tn, "A"), mkGroup(t, s, tn, "B"), mkGroup(t, s, tn, "C")
	addMember(t, s, tn, a.ID, store.MemberGroup, b.ID)
	addMember(t, s, tn, b.ID, store.MemberGroup, c.ID)
	u, v := mkUser(t, s, tn, "u"), mkUser(t, s, tn, "v")
	addMember(t, s, tn, c.ID, store.MemberUser, u.ID)
	addMember(t, s, tn, a.ID, store.MemberUser, u.ID)
	addMember(t, s, tn, a.ID, store.MemberUser, v.ID)

	// DeleteUser removes its memberships.
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), tn, u.ID))
	if got := members(t, s, tn, c.ID); len(got) != 0 {
		t.Errorf("deleted user still in C: %v", got)
	}
	// A user re-created with the same id does not inherit them.
	mkUser(t, s, tn, "u", func(x *store.User) { x.ID = u.ID })
	if got := members(t, s, tn, a.ID); len(got) != 2 { // B and v
		t.Errorf("A's members after re-creating u: %v", got)
	}

	// DeleteGroup removes edges in both directions.
	noErr(t, "DeleteGroup(B)", s.Groups().DeleteGroup(ctx(t), tn, b.ID))
	want := []store.Member{{Type: store.MemberUser, ID: v.ID}}
	if got := members(t, s, tn, a.ID); !slices.Equal(got, want) {
		t.Errorf("A's members after deleting B: %v, want %v", got, want)
	}
	addMember(t, s, tn, c.ID, store.MemberUser, v.ID)
	all, err := s.Groups().UserGroups(ctx(t), tn, v.ID, true)
	noErr(t, "UserGroups", err)
	sameIDs(t, "UserGroups after deleting B", groupIDs(all), sortedIDs(a.ID, c.ID))
	// C can now hold A: the path that made it a cycle is gone.
	addMember(t, s, tn, c.ID, store.MemberGroup, a.ID)
}

// testGroupIsolation: a group of tenant A is invisible under B, and no
// membership crosses tenants.
func testGroupIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	gs := s.Groups()
	ga, ga2 := mkGroup(t, s, a, "shared-name"), mkGroup(t, s, a, "a2")
	ua := mkUser(t, s, a, "ua")
	addMember(t, s, a, ga.ID, store.MemberUser, ua.ID)
	gb := mkGroup(t, s, b, "shared-name") // names are per tenant
	ub := mkUser(t, s, b, "ub")

	_, err := gs.GetGroup(ctx(t), b, ga.ID)
	wantErr(t, "GetGroup under B", err, store.ErrNotFound)
	list, err := gs.ListGroups(ctx(t), b, store.Page{})
	noErr(t, "ListGroups under B", err)
	sameIDs(t, "ListGroups under B", groupIDs(list), []string{gb.ID})
	_, err = gs.UpdateGroup(ctx(t), b, ga.ID, func(*store.Group) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateGroup under B", err, store.ErrNotFound)
	wantErr(t, "DeleteGroup under B", gs.DeleteGroup(ctx(t), b, ga.ID), store.ErrNotFound)
	_, err = gs.ListMembers(ctx(t), b, ga.ID, store.Page{})
	wantErr(t, "ListMembers under B", err, store.ErrNotFound)
	_, err = gs.UserGroups(ctx(t), b, ua.ID, true)
	wantErr(t, "UserGroups under B", err, store.ErrNotFound)
	wantErr(t, "RemoveMember under B", gs.RemoveMember(ctx(t), b, ga.ID, store.Member{Type: store.MemberUser, ID: ua.ID}), store.ErrNotFound)
	found, err := s.Users().SearchUsers(ctx(t), b, store.UserQuery{GroupID: ga.ID, Transitive: true})
	noErr(t, "SearchUsers under B", err)
	if len(found) != 0 {
		t.Errorf("SearchUsers(group of A) under B found %v", userIDs(found))
	}

	for _, c := range []struct {
		name   string
		tenant store.TenantID
		group  string
		m      store.Member
	}{
		{"A's user into A's group, under B", b, ga.ID, store.Member{Type: store.MemberUser, ID: ua.ID}},
		{"A's user into B's group, under B", b, gb.ID, store.Member{Type: store.MemberUser, ID: ua.ID}},
		{"A's user into B's group, under A", a, gb.ID, store.Member{Type: store.MemberUser, ID: ua.ID}},
		{"B's user into A's group, under A", a, ga.ID, store.Member{Type: store.MemberUser, ID: ub.ID}},
		{"A's group into B's group, under B", b, gb.ID, store.Member{Type: store.MemberGroup, ID: ga2.ID}},
		{"A's group into B's group, under A", a, gb.ID, store.Member{Type: store.MemberGroup, ID: ga2.ID}},
		{"A's group into A's group, under B", b, ga.ID, store.Member{Type: store.MemberGroup, ID: ga2.ID}},
	} {
		wantErr(t, "AddMember("+c.name+")", gs.AddMember(ctx(t), c.tenant, c.group, c.m), store.ErrNotFound)
	}
	if got := members(t, s, b, gb.ID); len(got) != 0 {
		t.Errorf("B's group gained members %v", got)
	}
	if got := members(t, s, a, ga.ID); !slices.Equal(got, []store.Member{{Type: store.MemberUser, ID: ua.ID}}) {
		t.Errorf("A's group members changed: %v", got)
	}
}
