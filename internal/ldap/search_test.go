package ldap_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const (
	base   = "dc=acme,dc=gatehouse"
	users  = "ou=users," + base
	groups = "ou=groups," + base
)

func u(uid string) string  { return "uid=" + uid + "," + users }
func g(name string) string { return "cn=" + name + "," + groups }

func search(t *testing.T, c *goldap.Conn, baseDN string, scope int, filter string, attrs ...string) ([]*goldap.Entry, error) {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(baseDN, scope, goldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if res == nil {
		return nil, err
	}
	return res.Entries, err
}

func TestSearchFilters(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		c := e.bound(t)
		alice, bob, carol, zoe := u("alice"), u("bob@example.com"), u("carol"), u("zoe")
		staff, eng, ops := g("staff"), g("eng"), g("ops")
		cases := []struct {
			filter string
			want   []string
		}{
			{"(uid=alice)", []string{alice}},
			{"(UID=ALICE)", []string{alice}},
			{"(uid=bob@example.com)", []string{bob}},
			{"(mail=BOB@example.com)", []string{bob}},
			{"(givenName=carol)", []string{carol}},
			{"(sn=liddell)", []string{alice}},
			{"(cn=Alice Liddell)", []string{alice}},
			{"(displayName=zimmer)", []string{zoe}},
			{"(cn=staff)", []string{staff}},
			{"(entryUUID=" + e.users["carol"].ID + ")", []string{carol}},
			{"(entryUUID=" + e.groups["ops"].ID + ")", []string{ops}},
			{"(uid=al*)", []string{alice}},
			{"(mail=*@example.com)", []string{alice, bob, carol, zoe}},
			{"(mail=*o*e@*)", []string{zoe}},
			{"(cn=*o*)", []string{bob, carol, ops}},
			{"(uid=a*e)", []string{alice}},
			{"(uid=*%*)", []string{}},
			{"(sn=*)", []string{alice, bob, zoe}},
			{"(givenName=*)", []string{alice, bob, carol}},
			{"(member=*)", []string{staff, eng}},
			{"(memberOf=*)", []string{alice, bob, carol, eng}},
			{"(uid>=c)", []string{carol, zoe}},
			{"(uid<=bz)", []string{alice, bob}},
			{"(&(objectClass=inetOrgPerson)(givenName=*)(!(uid=bob*)))", []string{alice, carol}},
			{"(|(uid=alice)(cn=ops))", []string{alice, ops}},
			{"(!(objectClass=person))", []string{base, "ou=users," + base, groups, staff, eng, ops}},
			{"(objectClass=groupOfNames)", []string{staff, eng, ops}},
			{"(objectClass=organizationalUnit)", []string{users, groups}},
			{"(uid~=alice)", []string{alice}},
			{"(memberOf=" + staff + ")", []string{alice, bob, eng}},
			{"(memberOf=CN=Staff,OU=Groups,DC=Acme,DC=Gatehouse)", []string{alice, bob, eng}},
			{"(memberOf=cn=staff,ou=groups,dc=other,dc=gatehouse)", []string{}},
			{"(member=" + carol + ")", []string{eng}},
			{"(member=" + eng + ")", []string{staff}},
			{"(member=" + u("dave") + ")", []string{}},
			{"(&(objectClass=groupOfNames)(!(member=*)))", []string{ops}},
			{"(unknownAttr=x)", []string{}},
			{"(!(unknownAttr=x))", []string{base, users, groups, alice, bob, carol, zoe, staff, eng, ops}},
			{"(uid=mallory)", []string{}},
			{"(uid=dave)", []string{}},
			{"(uid=' OR '1'='1)", []string{}},
		}
		for _, tc := range cases {
			got, err := search(t, c, base, goldap.ScopeWholeSubtree, tc.filter, "uid")
			if err != nil {
				t.Errorf("%s: %v", tc.filter, err)
				continue
			}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if gotDNs := dns(got); !slices.Equal(gotDNs, want) {
				t.Errorf("%s = %v\nwant %v", tc.filter, gotDNs, want)
			}
		}
	})
}

func TestSearchScopesAndAttributes(t *testing.T) {
	e := newEnv(t, sqlite(t))
	c := e.bound(t)
	all := "(objectClass=*)"
	cases := []struct {
		base  string
		scope int
		want  []string
	}{
		{base, goldap.ScopeBaseObject, []string{base}},
		{base, goldap.ScopeSingleLevel, []string{users, groups}},
		{users, goldap.ScopeBaseObject, []string{users}},
		{users, goldap.ScopeSingleLevel, []string{u("alice"), u("bob@example.com"), u("carol"), u("zoe")}},
		{groups, goldap.ScopeWholeSubtree, []string{groups, g("staff"), g("eng"), g("ops")}},
		{u("alice"), goldap.ScopeBaseObject, []string{u("alice")}},
		{"UID=Alice,OU=Users,DC=Acme,DC=Gatehouse", goldap.ScopeWholeSubtree, []string{u("alice")}},
		{u("alice"), goldap.ScopeSingleLevel, []string{}},
		{g("eng"), goldap.ScopeBaseObject, []string{g("eng")}},
	}
	for _, tc := range cases {
		got, err := search(t, c, tc.base, tc.scope, all)
		if err != nil {
			t.Errorf("%s scope %d: %v", tc.base, tc.scope, err)
			continue
		}
		slices.Sort(tc.want)
		if d := dns(got); !slices.Equal(d, tc.want) {
			t.Errorf("%s scope %d = %v, want %v", tc.base, tc.scope, d, tc.want)
		}
	}
	sub, err := search(t, c, base, goldap.ScopeWholeSubtree, all)
	must(t, err)
	if len(sub) != 10 {
		t.Errorf("subtree of the tenant: %d entries, want 10: %v", len(sub), dns(sub))
	}
	for _, missing := range []string{u("nobody"), u("dave"), u("mallory"), "dc=other,dc=gatehouse",
		"ou=services," + base, "dc=nope,dc=gatehouse", "o=elsewhere", "uid=x,ou=people," + base} {
		if _, err := search(t, c, missing, goldap.ScopeWholeSubtree, all); code(err) != goldap.LDAPResultNoSuchObject {
			t.Errorf("search under %s = %v, want noSuchObject", missing, err)
		}
	}
	// An oversized base DN is refused, and the audit log keeps only its start.
	long := "uid=" + strings.Repeat("x", 3000) + "," + users
	if _, err := search(t, c, long, goldap.ScopeBaseObject, all); code(err) != goldap.LDAPResultNoSuchObject {
		t.Errorf("oversized base DN = %v, want noSuchObject", err)
	}
	if last := e.audit(t, e.acme.ID, "ldap.search")[0]; len(last.TargetID) > 1100 {
		t.Errorf("audit keeps a %d-byte base DN", len(last.TargetID))
	}
	// The filter still applies to a base entry.
	if got, _ := search(t, c, u("alice"), goldap.ScopeBaseObject, "(uid=bob)"); len(got) != 0 {
		t.Errorf("base search with a non-matching filter = %v", dns(got))
	}
	// A bad filter is refused.
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, 0, 0, 0, false, "(&"+strings.Repeat("(!", 20)+"(uid=a)"+strings.Repeat(")", 21), nil, nil)
	if _, err := c.Search(req); code(err) != goldap.LDAPResultUnwillingToPerform {
		t.Errorf("deep filter = %v, want unwillingToPerform", err)
	}

	// Attributes of a user, with memberOf, and only what is asked.
	got, err := search(t, c, u("alice"), goldap.ScopeBaseObject, all)
	must(t, err)
	a := got[0]
	for attr, want := range map[string][]string{
		"uid": {"alice"}, "cn": {"Alice Liddell"}, "displayName": {"Alice Liddell"}, "mail": {"alice@example.com"},
		"givenName": {"Alice"}, "sn": {"Liddell"}, "entryUUID": {e.users["alice"].ID}, "memberOf": {g("staff")},
		"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
	} {
		if v := a.GetAttributeValues(attr); !slices.Equal(v, want) {
			t.Errorf("alice %s = %v, want %v", attr, v, want)
		}
	}
	if v := a.GetAttributeValue("userPassword"); v != "" {
		t.Errorf("a password attribute is exposed: %q", v)
	}
	got, err = search(t, c, g("staff"), goldap.ScopeBaseObject, all, "member", "CN")
	must(t, err)
	members := got[0].GetAttributeValues("member")
	slices.Sort(members)
	if want := []string{g("eng"), u("alice"), u("bob@example.com")}; !slices.Equal(members, want) {
		t.Errorf("staff members = %v, want %v (no disabled user)", members, want)
	}
	if len(got[0].Attributes) != 2 || got[0].GetAttributeValue("cn") != "staff" {
		t.Errorf("asked for member and CN, got %d attributes: %+v", len(got[0].Attributes), got[0].Attributes)
	}
	got, err = search(t, c, g("eng"), goldap.ScopeBaseObject, all, "memberOf")
	must(t, err)
	if v := got[0].GetAttributeValues("memberOf"); !slices.Equal(v, []string{g("staff")}) {
		t.Errorf("eng memberOf = %v", v)
	}
	got, err = search(t, c, u("alice"), goldap.ScopeBaseObject, all, "1.1")
	must(t, err)
	if len(got[0].Attributes) != 0 {
		t.Errorf(`"1.1" answered attributes: %+v`, got[0].Attributes)
	}

	// The root DSE names the bound tenant's tree.
	got, err = search(t, c, "", goldap.ScopeBaseObject, all)
	must(t, err)
	if len(got) != 1 || got[0].GetAttributeValue("namingContexts") != base ||
		!slices.Contains(got[0].GetAttributeValues("supportedControl"), goldap.ControlTypePaging) {
		t.Errorf("root DSE = %+v", got)
	}
	// Every search is audited.
	if n := len(e.audit(t, e.acme.ID, "ldap.search")); n < len(cases)+10 {
		t.Errorf("%d searches audited, want every one", n)
	}
}

func TestSearchPagingAndLimits(t *testing.T) {
	e := newEnv(t, sqlite(t), func(o *opts) { o.cfg.SizeLimit = 6 })
	c := e.bound(t)
	all := "(objectClass=*)"
	// Without paging, the server's limit of 6 stops the 10 entries.
	got, err := search(t, c, base, goldap.ScopeWholeSubtree, all)
	if code(err) != goldap.LDAPResultSizeLimitExceeded || len(got) != 6 {
		t.Errorf("unpaged subtree: %d entries, %v; want 6 and sizeLimitExceeded", len(got), err)
	}
	// The client's smaller limit wins.
	res, err := c.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, 0, 2, 0, false, all, nil, nil))
	if code(err) != goldap.LDAPResultSizeLimitExceeded || res == nil || len(res.Entries) != 2 {
		t.Errorf("size limit 2: %v, %v", res, err)
	}
	// Paged, every entry comes exactly once, whatever the page size (1
	// walks through the fixed entries one at a time).
	for _, size := range []uint32{1, 2, 3, 50} {
		res, err := c.SearchWithPaging(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, 0, 0, 0, false, all, []string{"cn"}, nil), size)
		if err != nil {
			t.Errorf("paging by %d: %v", size, err)
			continue
		}
		d := dns(res.Entries)
		if len(d) != 10 || len(slices.Compact(slices.Clone(d))) != 10 {
			t.Errorf("paging by %d: %d entries %v", size, len(d), d)
		}
	}
	// A forged cookie is refused.
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, 0, 0, 0, false, all, nil,
		[]goldap.Control{&goldap.ControlPaging{PagingSize: 2, Cookie: []byte("9:zzz")}})
	if _, err := c.Search(req); code(err) != goldap.LDAPResultUnwillingToPerform {
		t.Errorf("forged cookie = %v, want unwillingToPerform", err)
	}
}

func TestSearchTimeLimit(t *testing.T) {
	e := newEnv(t, sqlite(t), func(o *opts) { o.cfg.TimeLimit = time.Nanosecond })
	c := e.bound(t)
	_, err := search(t, c, base, goldap.ScopeWholeSubtree, "(objectClass=*)")
	if code(err) != goldap.LDAPResultTimeLimitExceeded {
		t.Errorf("search past the time limit = %v, want timeLimitExceeded", err)
	}
}

func TestReadOnly(t *testing.T) {
	e := newEnv(t, sqlite(t))
	c := e.bound(t)
	add := goldap.NewAddRequest("uid=eve,"+users, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	if err := c.Add(add); err == nil {
		t.Error("Add succeeded on a read-only directory")
	}
	if err := c.Del(goldap.NewDelRequest(u("alice"), nil)); err == nil {
		t.Error("Delete succeeded on a read-only directory")
	}
	if n, _ := e.s.Users().CountUsers(t.Context(), e.acme.ID); n != 5 {
		t.Errorf("users after refused writes: %d, want 5", n)
	}
}
