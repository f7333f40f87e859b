package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var dirFilterTests = []test{
	{"DirFilter/Users", testDirFilterUsers},
	{"DirFilter/Groups", testDirFilterGroups},
	{"DirFilter/Bounds", testDirFilterBounds},
}

func eq(f store.DirField, v string) store.DirFilter {
	return store.DirFilter{Op: store.DirEq, Field: f, Value: v}
}

func dirOp(op store.DirOp, sub ...store.DirFilter) store.DirFilter {
	return store.DirFilter{Op: op, Sub: sub}
}

func testDirFilterUsers(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice", func(u *store.User) {
		u.Username, u.UsernameNorm, u.GivenName, u.FamilyName = "Alice", "alice", "Alice", "Liddell"
	})
	bob := mkUser(t, s, tn, "bob", func(u *store.User) { u.GivenName = "Bob"; u.Status = store.UserDisabled })
	nameless := mkUser(t, s, tn, "x_y%z")
	mkUser(t, s, other, "alice", func(u *store.User) { u.Username, u.UsernameNorm = "alice", "alice" })
	staff := mkGroup(t, s, tn, "Staff")
	addMember(t, s, tn, staff.ID, store.MemberUser, alice.ID)

	cases := []struct {
		name string
		f    store.DirFilter
		want []string
	}{
		{"true", dirOp(store.DirTrue), sorted(alice, bob, nameless)},
		{"false", dirOp(store.DirFalse), nil},
		{"uid is the username", eq(store.FieldUID, "alice"), sorted(alice)},
		{"uid falls back to the email", eq(store.FieldUID, "bob@example.com"), sorted(bob)},
		{"email", eq(store.FieldEmail, "alice@example.com"), sorted(alice)},
		{"display name", eq(store.FieldDisplayName, "alice liddell"), sorted(alice)},
		{"display name of one part", eq(store.FieldDisplayName, "bob"), sorted(bob)},
		{"display name falls back to the uid", eq(store.FieldDisplayName, "x_y%z@example.com"), sorted(nameless)},
		{"given name present", store.DirFilter{Op: store.DirPresent, Field: store.FieldGivenName}, sorted(alice, bob)},
		{"family name present", store.DirFilter{Op: store.DirPresent, Field: store.FieldFamilyName}, sorted(alice)},
		{"substring initial", store.DirFilter{Op: store.DirSubstr, Field: store.FieldEmail, Initial: "al"}, sorted(alice)},
		{"substring any and final", store.DirFilter{Op: store.DirSubstr, Field: store.FieldEmail, Any: []string{"@"}, Final: ".com"}, sorted(alice, bob, nameless)},
		{"substring wildcards are literal", store.DirFilter{Op: store.DirSubstr, Field: store.FieldEmail, Any: []string{"_y%"}}, sorted(nameless)},
		{"substring _ is not a wildcard", store.DirFilter{Op: store.DirSubstr, Field: store.FieldEmail, Initial: "b_b"}, nil},
		{"ge", store.DirFilter{Op: store.DirGE, Field: store.FieldEmail, Value: "b"}, sorted(bob, nameless)},
		{"le", store.DirFilter{Op: store.DirLE, Field: store.FieldEmail, Value: "b"}, sorted(alice)},
		{"status", eq(store.FieldStatus, "active"), sorted(alice, nameless)},
		{"member of", eq(store.FieldMemberOf, "staff"), sorted(alice)},
		{"member of anything", store.DirFilter{Op: store.DirPresent, Field: store.FieldMemberOf}, sorted(alice)},
		{"member of substring matches nothing", store.DirFilter{Op: store.DirSubstr, Field: store.FieldMemberOf, Initial: "s"}, nil},
		{"and", dirOp(store.DirAnd, eq(store.FieldStatus, "active"), store.DirFilter{Op: store.DirPresent, Field: store.FieldGivenName}), sorted(alice)},
		{"or", dirOp(store.DirOr, eq(store.FieldUID, "alice"), eq(store.FieldID, bob.ID)), sorted(alice, bob)},
		{"not", dirOp(store.DirNot, eq(store.FieldUID, "alice")), sorted(bob, nameless)},
		{"empty and", dirOp(store.DirAnd), sorted(alice, bob, nameless)},
		{"empty or", dirOp(store.DirOr), nil},
		{"a value is no SQL", eq(store.FieldUID, "' OR '1'='1"), nil},
	}
	for _, c := range cases {
		us, err := s.Directory().FilterUsers(ctx(t), tn, c.f, store.Page{})
		noErr(t, "FilterUsers "+c.name, err)
		if got := userIDs(us); !slices.Equal(got, append([]string{}, c.want...)) {
			t.Errorf("FilterUsers %s = %v, want %v", c.name, got, c.want)
		}
	}
	// Pages follow the id order.
	all := sorted(alice, bob, nameless)
	p1, err := s.Directory().FilterUsers(ctx(t), tn, dirOp(store.DirTrue), store.Page{Limit: 2})
	noErr(t, "FilterUsers page 1", err)
	p2, err := s.Directory().FilterUsers(ctx(t), tn, dirOp(store.DirTrue), store.Page{Limit: 2, After: p1[len(p1)-1].ID})
	noErr(t, "FilterUsers page 2", err)
	if got := append(userIDs(p1), userIDs(p2)...); !slices.Equal(got, all) {
		t.Errorf("pages = %v, want %v", got, all)
	}
}

func testDirFilterGroups(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	staff, eng, ops := mkGroup(t, s, tn, "Staff"), mkGroup(t, s, tn, "eng"), mkGroup(t, s, tn, "ops")
	mkGroup(t, s, other, "staff")
	alice := mkUser(t, s, tn, "alice", func(u *store.User) { u.Username, u.UsernameNorm = "Alice", "alice" })
	gone := mkUser(t, s, tn, "gone", func(u *store.User) { u.Status = store.UserDisabled })
	addMember(t, s, tn, eng.ID, store.MemberUser, alice.ID)
	addMember(t, s, tn, ops.ID, store.MemberUser, gone.ID)
	addMember(t, s, tn, staff.ID, store.MemberGroup, eng.ID)

	cases := []struct {
		name string
		f    store.DirFilter
		want []string
	}{
		{"all", dirOp(store.DirTrue), sortedIDs(staff.ID, eng.ID, ops.ID)},
		{"name folds case", eq(store.FieldName, "staff"), sortedIDs(staff.ID)},
		{"name substring", store.DirFilter{Op: store.DirSubstr, Field: store.FieldName, Final: "s"}, sortedIDs(ops.ID)},
		{"member user", eq(store.FieldMemberUID, "alice"), sortedIDs(eng.ID)},
		{"inactive members are not members", eq(store.FieldMemberUID, "gone@example.com"), nil},
		{"member group", eq(store.FieldMemberGroup, "eng"), sortedIDs(staff.ID)},
		{"member of", eq(store.FieldMemberOf, "staff"), sortedIDs(eng.ID)},
		{"has user members", store.DirFilter{Op: store.DirPresent, Field: store.FieldMemberUID}, sortedIDs(eng.ID)},
		{"id", eq(store.FieldID, ops.ID), sortedIDs(ops.ID)},
	}
	for _, c := range cases {
		gs, err := s.Directory().FilterGroups(ctx(t), tn, c.f, store.Page{})
		noErr(t, "FilterGroups "+c.name, err)
		if got := groupIDs(gs); !slices.Equal(got, append([]string{}, c.want...)) {
			t.Errorf("FilterGroups %s = %v, want %v", c.name, got, c.want)
		}
	}
}

func testDirFilterBounds(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	mkUser(t, s, tn, "a")
	deep := eq(store.FieldUID, "a")
	for range store.MaxDirFilterDepth + 1 {
		deep = dirOp(store.DirNot, deep)
	}
	wide := dirOp(store.DirOr)
	for i := range store.MaxDirFilterNodes {
		wide.Sub = append(wide.Sub, eq(store.FieldUID, fmt.Sprint(i)))
	}
	bad := []struct {
		name string
		f    store.DirFilter
	}{
		{"too deep", deep},
		{"too many nodes", wide},
		{"a group field on users", eq(store.FieldName, "x")},
		{"an unknown field", eq("password_hash", "x")},
		{"not without an operand", dirOp(store.DirNot)},
		{"an empty substring", store.DirFilter{Op: store.DirSubstr, Field: store.FieldEmail}},
	}
	for _, c := range bad {
		_, err := s.Directory().FilterUsers(ctx(t), tn, c.f, store.Page{})
		wantErr(t, "FilterUsers "+c.name, err, store.ErrFilterTooComplex)
	}
	_, err := s.Directory().FilterGroups(ctx(t), tn, eq(store.FieldEmail, "x"), store.Page{})
	wantErr(t, "FilterGroups with a user field", err, store.ErrFilterTooComplex)
}
