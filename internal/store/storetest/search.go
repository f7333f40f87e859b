package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var searchTests = []test{
	{"Search/Fields", testSearchFields},
	{"Search/Groups", testSearchGroups},
	{"Search/Pagination", testSearchPagination},
}

func search(t *testing.T, s store.Store, tn store.TenantID, q store.UserQuery) []string {
	t.Helper()
	us, err := s.Users().SearchUsers(ctx(t), tn, q)
	noErr(t, fmt.Sprintf("SearchUsers(%+v)", q), err)
	return userIDs(us)
}

// sorted answers the ids of us in id order, as searches answer.
func sorted(us ...*store.User) []string {
	var ids []string
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}

func testSearchFields(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice", func(u *store.User) {
		u.Username, u.UsernameNorm, u.GivenName, u.FamilyName = "Wonder", "wonder", "Alice", "Liddell"
		u.Attributes = json.RawMessage(`{"dept":"eng","level":"3","cost.center":"x-1"}`)
	})
	bob := mkUser(t, s, tn, "bob", func(u *store.User) {
		u.Username, u.UsernameNorm, u.GivenName, u.FamilyName = "alibaba", "alibaba", "Bob", "Stone"
		u.Status = store.UserDisabled
		u.Attributes = json.RawMessage(`{"dept":"ops","level":3}`)
	})
	carol := mkUser(t, s, tn, "carol", func(u *store.User) {
		u.GivenName, u.FamilyName = "Carol", "Alister"
		u.Attributes = json.RawMessage(`{"dept":"eng","nested":{"dept":"ops"}}`)
	})
	elo := mkUser(t, s, tn, "zed", func(u *store.User) {
		u.GivenName, u.FamilyName = "Élodie", "Ålund"
		u.Status = store.UserLocked
	})

	cases := []struct {
		q    store.UserQuery
		want []string
	}{
		{store.UserQuery{}, sorted(alice, bob, carol, elo)},
		{store.UserQuery{EmailNorm: "bob@example.com"}, sorted(bob)},
		{store.UserQuery{EmailNorm: "BOB@example.com"}, nil}, // exact on the normalised form
		{store.UserQuery{UsernameNorm: "wonder"}, sorted(alice)},
		{store.UserQuery{Status: store.UserDisabled}, sorted(bob)},
		{store.UserQuery{Status: store.UserActive}, sorted(alice, carol)},
		{store.UserQuery{AttrKey: "dept", AttrValue: "eng"}, sorted(alice, carol)},
		{store.UserQuery{AttrKey: "dept", AttrValue: "ops"}, sorted(bob)},  // top level only
		{store.UserQuery{AttrKey: "level", AttrValue: "3"}, sorted(alice)}, // the string, not the number 3
		{store.UserQuery{AttrKey: "cost.center", AttrValue: "x-1"}, sorted(alice)},
		{store.UserQuery{AttrKey: "missing", AttrValue: "eng"}, nil},
		{store.UserQuery{AttrKey: `dept") OR 1=1 --`, AttrValue: "eng"}, nil}, // not a key we search
		{store.UserQuery{AttrKey: "dept'", AttrValue: "eng"}, nil},
		// Prefix: email, username, given and family name, any case.
		{store.UserQuery{Prefix: "ali"}, sorted(alice, bob, carol)},
		{store.UserQuery{Prefix: "ALI"}, sorted(alice, bob, carol)},
		{store.UserQuery{Prefix: "alice@"}, sorted(alice)},
		{store.UserQuery{Prefix: "wond"}, sorted(alice)},
		{store.UserQuery{Prefix: "lidd"}, sorted(alice)},
		{store.UserQuery{Prefix: "bo"}, sorted(bob)},
		{store.UserQuery{Prefix: "éLO"}, sorted(elo)},
		{store.UserQuery{Prefix: "ÅL"}, sorted(elo)},
		{store.UserQuery{Prefix: "lice"}, nil}, // a prefix, not a substring
		{store.UserQuery{Prefix: "%"}, nil},
		{store.UserQuery{Prefix: "_"}, nil},
		// Every set field must match.
		{store.UserQuery{Prefix: "ali", Status: store.UserActive}, sorted(alice, carol)},
		{store.UserQuery{Prefix: "ali", AttrKey: "dept", AttrValue: "eng", Status: store.UserActive}, sorted(alice, carol)},
		{store.UserQuery{Prefix: "car", EmailNorm: "alice@example.com"}, nil},
	}
	for _, c := range cases {
		sameIDs(t, fmt.Sprintf("SearchUsers(%+v)", c.q), search(t, s, tn, c.q), c.want)
	}
}

// testSearchGroups: GroupID keeps direct members, or with Transitive the
// members of nested groups three levels down.
func testSearchGroups(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	top, mid, low, other := mkGroup(t, s, tn, "top"), mkGroup(t, s, tn, "mid"), mkGroup(t, s, tn, "low"), mkGroup(t, s, tn, "other")
	addMember(t, s, tn, top.ID, store.MemberGroup, mid.ID)
	addMember(t, s, tn, mid.ID, store.MemberGroup, low.ID)
	u1, u2, u3, u4 := mkUser(t, s, tn, "u1"), mkUser(t, s, tn, "u2"), mkUser(t, s, tn, "u3"), mkUser(t, s, tn, "u4")
	mkUser(t, s, tn, "loner")
	addMember(t, s, tn, top.ID, store.MemberUser, u1.ID)
	addMember(t, s, tn, mid.ID, store.MemberUser, u2.ID)
	addMember(t, s, tn, low.ID, store.MemberUser, u3.ID)
	addMember(t, s, tn, low.ID, store.MemberUser, u1.ID) // reachable twice, listed once
	addMember(t, s, tn, other.ID, store.MemberUser, u4.ID)

	cases := []struct {
		q    store.UserQuery
		want []string
	}{
		{store.UserQuery{GroupID: top.ID}, sorted(u1)},
		{store.UserQuery{GroupID: top.ID, Transitive: true}, sorted(u1, u2, u3)},
		{store.UserQuery{GroupID: mid.ID, Transitive: true}, sorted(u1, u2, u3)},
		{store.UserQuery{GroupID: mid.ID}, sorted(u2)},
		{store.UserQuery{GroupID: low.ID, Transitive: true}, sorted(u1, u3)},
		{store.UserQuery{GroupID: other.ID, Transitive: true}, sorted(u4)},
		{store.UserQuery{GroupID: newID(), Transitive: true}, nil},
		{store.UserQuery{GroupID: top.ID, Transitive: true, Prefix: "u3"}, sorted(u3)},
	}
	for _, c := range cases {
		sameIDs(t, fmt.Sprintf("SearchUsers(%+v)", c.q), search(t, s, tn, c.q), c.want)
	}
	// Paging within a group search.
	page := search(t, s, tn, store.UserQuery{GroupID: top.ID, Transitive: true, Page: store.Page{Limit: 2}})
	rest := search(t, s, tn, store.UserQuery{GroupID: top.ID, Transitive: true, Page: store.Page{After: page[len(page)-1]}})
	sameIDs(t, "paged group search", append(page, rest...), sorted(u1, u2, u3))
}

// testSearchPagination walks 250 users 100 at a time: each exactly once,
// in id order.
func testSearchPagination(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	var users []store.User
	var want []string
	for i := range 250 {
		u := store.User{ID: newID(), Email: fmt.Sprintf("p%03d@x.io", i), EmailNorm: fmt.Sprintf("p%03d@x.io", i)}
		users = append(users, u)
		want = append(want, u.ID)
	}
	noErr(t, "InsertUsers", s.Users().InsertUsers(ctx(t), tn, users))
	slices.Sort(want)

	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page := search(t, s, tn, store.UserQuery{Page: store.Page{After: after, Limit: 100}})
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	sameIDs(t, "pages", got, want)
	if !slices.Equal(sizes, []int{100, 100, 50, 0}) {
		t.Errorf("page sizes %v, want [100 100 50 0]", sizes)
	}
	if n := len(search(t, s, tn, store.UserQuery{})); n != 50 {
		t.Errorf("default limit answered %d, want 50", n)
	}
	if n := len(search(t, s, tn, store.UserQuery{Page: store.Page{Limit: 100000}})); n != 250 {
		t.Errorf("huge limit answered %d, want all 250 (clamped to 1000)", n)
	}
	if n := len(search(t, s, tn, store.UserQuery{Prefix: "p1", Page: store.Page{Limit: 1000}})); n != 100 {
		t.Errorf("prefix p1 answered %d, want 100", n)
	}
}
