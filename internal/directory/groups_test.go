package directory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

func groupID(g store.Group) string   { return g.ID }
func memberID(m store.Member) string { return string(m.Type) + ":" + m.ID }

func TestGroupCRUD(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		eng, err := e.dir.CreateGroup(t.Context(), admin, tn, directory.NewGroup{Name: "Engineering", Description: "All of it"})
		if err != nil {
			t.Fatal(err)
		}
		ops, err := e.dir.CreateGroup(t.Context(), admin, tn, directory.NewGroup{Name: "Ops"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.dir.CreateGroup(t.Context(), admin, tn, directory.NewGroup{Name: "Engineering"})
		wantConflict(t, err, "name")
		for _, bad := range []directory.NewGroup{{Name: ""}, {Name: "  "}, {Name: strings.Repeat("n", 101)}, {Name: "a\x00b"},
			{Name: "ok", Description: strings.Repeat("d", 1001)}} {
			_, err := e.dir.CreateGroup(t.Context(), admin, tn, bad)
			var field = "name"
			if bad.Name == "ok" {
				field = "description"
			}
			wantField(t, err, field)
		}

		up, err := e.dir.UpdateGroup(t.Context(), admin, tn, eng.ID, eng.Version, directory.GroupPatch{Name: ptr("R&D")})
		if err != nil || up.Name != "R&D" || up.Description != "All of it" || up.Version != eng.Version+1 {
			t.Fatalf("UpdateGroup = %+v, %v", up, err)
		}
		_, err = e.dir.UpdateGroup(t.Context(), admin, tn, eng.ID, eng.Version, directory.GroupPatch{Name: ptr("Stale")})
		if !errors.Is(err, store.ErrPrecondition) {
			t.Errorf("stale version: %v, want store.ErrPrecondition", err)
		}
		_, err = e.dir.UpdateGroup(t.Context(), admin, tn, eng.ID, 0, directory.GroupPatch{Name: ptr("Ops")})
		wantConflict(t, err, "name")
		_, err = e.dir.UpdateGroup(t.Context(), admin, tn, eng.ID, 0, directory.GroupPatch{Name: ptr("")})
		wantField(t, err, "name")
		if g, err := e.dir.GetGroup(t.Context(), tn, eng.ID); err != nil || g.Name != "R&D" || g.Version != up.Version {
			t.Errorf("refused updates changed the group: %+v, %v", g, err)
		}

		if err := e.dir.DeleteGroup(t.Context(), admin, tn, ops.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.dir.GetGroup(t.Context(), tn, ops.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetGroup after delete: %v", err)
		}
		if err := e.dir.DeleteGroup(t.Context(), admin, tn, ops.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		// The name is free again.
		if _, err := e.dir.CreateGroup(t.Context(), admin, tn, directory.NewGroup{Name: "Ops"}); err != nil {
			t.Errorf("reusing a deleted group's name: %v", err)
		}
		gs, err := e.dir.ListGroups(t.Context(), tn, store.Page{})
		if err != nil || len(gs) != 2 {
			t.Errorf("ListGroups = %d groups (%v), want 2", len(gs), err)
		}
		want := []string{"group.create", "group.create", "group.update", "group.delete", "group.create"}
		if got := actions(e.audit(t, tn)); !slices.Equal(got, want) {
			t.Errorf("audit %v, want %v", got, want)
		}
	})
}

func TestGroupMembers(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn, other := e.tenant(t, "acme"), e.tenant(t, "other")
		alice := e.user(t, tn, directory.NewUser{Email: "alice@example.com"})
		bob := e.user(t, tn, directory.NewUser{Email: "bob@example.com"})
		stranger := e.user(t, other, directory.NewUser{Email: "stranger@example.com"})
		mk := func(tenant store.TenantID, name string) *store.Group {
			g, err := e.dir.CreateGroup(t.Context(), admin, tenant, directory.NewGroup{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		all, eng, backend, db := mk(tn, "all"), mk(tn, "eng"), mk(tn, "backend"), mk(tn, "db")
		foreign := mk(other, "foreign")
		add := func(g *store.Group, m store.Member) error { return e.dir.AddMember(t.Context(), admin, tn, g.ID, m) }
		user := func(u *store.User) store.Member { return store.Member{Type: store.MemberUser, ID: u.ID} }
		group := func(g *store.Group) store.Member { return store.Member{Type: store.MemberGroup, ID: g.ID} }

		// all > eng > backend > db; alice in db, bob in eng.
		for _, step := range []struct {
			g *store.Group
			m store.Member
		}{{all, group(eng)}, {eng, group(backend)}, {backend, group(db)}, {db, user(alice)}, {eng, user(bob)}} {
			if err := add(step.g, step.m); err != nil {
				t.Fatalf("AddMember(%s, %v): %v", step.g.Name, step.m, err)
			}
		}
		if err := add(db, user(alice)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate membership: %v, want store.ErrConflict", err)
		}
		for _, cyc := range []struct {
			name string
			g, m *store.Group
		}{{"self", eng, eng}, {"direct", backend, eng}, {"deep", db, all}} {
			if err := add(cyc.g, group(cyc.m)); !errors.Is(err, store.ErrCycle) {
				t.Errorf("%s cycle: %v, want store.ErrCycle", cyc.name, err)
			}
		}
		// Across tenants: the other side does not exist in this tenant.
		for _, x := range []struct {
			name   string
			tenant store.TenantID
			g      string
			m      store.Member
		}{
			{"foreign user into own group", tn, eng.ID, user(stranger)},
			{"foreign group into own group", tn, eng.ID, group(foreign)},
			{"own user into foreign group", tn, foreign.ID, user(alice)},
			{"own user via the other tenant", other, foreign.ID, user(alice)},
			{"own group via the other tenant", other, eng.ID, user(stranger)},
			{"unknown user", tn, eng.ID, store.Member{Type: store.MemberUser, ID: "01900000-0000-7000-8000-000000000000"}},
		} {
			if err := e.dir.AddMember(t.Context(), admin, x.tenant, x.g, x.m); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want store.ErrNotFound", x.name, err)
			}
		}
		wantField(t, e.dir.AddMember(t.Context(), admin, tn, eng.ID, store.Member{Type: "robot", ID: alice.ID}), "type")

		direct, err := e.dir.UserGroups(t.Context(), tn, alice.ID, false)
		if err != nil || !slices.Equal(sortedIDs(direct, groupID), sortedIDs([]store.Group{*db}, groupID)) {
			t.Errorf("alice's direct groups %v (%v), want db", direct, err)
		}
		trans, err := e.dir.UserGroups(t.Context(), tn, alice.ID, true)
		if want := sortedIDs([]store.Group{*all, *eng, *backend, *db}, groupID); err != nil || !slices.Equal(sortedIDs(trans, groupID), want) {
			t.Errorf("alice's groups %v (%v), want all four", trans, err)
		}
		if bobs, err := e.dir.UserGroups(t.Context(), tn, bob.ID, true); err != nil || !slices.Equal(sortedIDs(bobs, groupID), sortedIDs([]store.Group{*all, *eng}, groupID)) {
			t.Errorf("bob's groups %v (%v), want all and eng", bobs, err)
		}
		if _, err := e.dir.UserGroups(t.Context(), other, alice.ID, true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserGroups via the other tenant: %v", err)
		}
		ms, err := e.dir.ListMembers(t.Context(), tn, eng.ID, store.Page{})
		if want := sortedIDs([]store.Member{group(backend), user(bob)}, memberID); err != nil || !slices.Equal(sortedIDs(ms, memberID), want) {
			t.Errorf("eng's members %v (%v), want %v", ms, err, want)
		}
		if _, err := e.dir.ListMembers(t.Context(), other, eng.ID, store.Page{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ListMembers via the other tenant: %v", err)
		}

		if err := e.dir.RemoveMember(t.Context(), admin, tn, eng.ID, user(alice)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing an indirect member: %v, want store.ErrNotFound", err)
		}
		if err := e.dir.RemoveMember(t.Context(), admin, tn, eng.ID, user(bob)); err != nil {
			t.Fatal(err)
		}
		if bobs, err := e.dir.UserGroups(t.Context(), tn, bob.ID, true); err != nil || len(bobs) != 0 {
			t.Errorf("bob's groups after removal %v (%v)", bobs, err)
		}

		// Deleting a user removes its memberships.
		if err := e.dir.DeleteUser(t.Context(), admin, tn, alice.ID); err != nil {
			t.Fatal(err)
		}
		if ms, err := e.dir.ListMembers(t.Context(), tn, db.ID, store.Page{}); err != nil || len(ms) != 0 {
			t.Errorf("db's members after deleting alice %v (%v)", ms, err)
		}
		// Deleting a group removes it from its parent.
		if err := e.dir.DeleteGroup(t.Context(), admin, tn, backend.ID); err != nil {
			t.Fatal(err)
		}
		if ms, err := e.dir.ListMembers(t.Context(), tn, eng.ID, store.Page{}); err != nil || len(ms) != 0 {
			t.Errorf("eng's members after deleting backend %v (%v)", ms, err)
		}

		var adds, removes int
		for _, a := range e.audit(t, tn) {
			switch a.Action {
			case "group.member.add":
				adds++
			case "group.member.remove":
				removes++
			}
		}
		if adds != 5 || removes != 1 {
			t.Errorf("audit has %d adds and %d removes, want 5 and 1: refused changes record nothing", adds, removes)
		}
	})
}
