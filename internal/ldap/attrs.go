package ldap

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// attrSel is the attribute selection of a search (RFC 4511 4.5.1.8).
type attrSel struct {
	all       bool            // no list, or "*" in it
	names     map[string]bool // requested names, lower case
	typesOnly bool
}

func selectAttrs(list []string, typesOnly bool) attrSel {
	s := attrSel{names: map[string]bool{}, typesOnly: typesOnly, all: len(list) == 0}
	for _, a := range list {
		switch a = strings.ToLower(strings.TrimSpace(a)); a {
		case "*":
			s.all = true
		case "1.1", "":
		default:
			s.names[a] = true
		}
	}
	return s
}

// wants reports whether the attribute named (in any case) is requested.
func (s attrSel) wants(name string) bool { return s.all || s.names[strings.ToLower(name)] }

// apply keeps the requested attributes (values dropped for typesOnly).
func (s attrSel) apply(attrs map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range attrs {
		if !s.wants(k) || len(v) == 0 {
			continue
		}
		if s.typesOnly {
			v = []string{}
		}
		out[k] = v
	}
	return out
}

// uidOf is the user's RDN value: the username, or without one the email
// in its normalised (lower-case) form, so the DN stays put when only the
// case of the typed address changes.
func uidOf(u *store.User) string {
	if u.Username != "" {
		return u.Username
	}
	return u.EmailNorm
}

// displayName is "given family", the uid when both are empty.
func displayName(u *store.User) string {
	if n := strings.TrimSpace(u.GivenName + " " + u.FamilyName); n != "" {
		return n
	}
	return uidOf(u)
}

// userAttrs is a user's entry. memberOf costs a query, made only when asked.
func (q *query) userAttrs(ctx context.Context, u *store.User) (map[string][]string, error) {
	name := displayName(u)
	a := map[string][]string{
		"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
		"uid":         {uidOf(u)}, "cn": {name}, "displayName": {name}, "mail": {u.Email},
		"entryUUID": {u.ID},
	}
	if u.GivenName != "" {
		a["givenName"] = []string{u.GivenName}
	}
	if u.FamilyName != "" {
		a["sn"] = []string{u.FamilyName}
	}
	if q.attrs.wants("memberOf") {
		gs, err := q.l.srv.deps.Store.Groups().UserGroups(ctx, q.who.tenant.ID, u.ID, false)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			a["memberOf"] = append(a["memberOf"], groupDN(q.slug, g.Name))
		}
	}
	return a, nil
}

// groupAttrs is a group's entry. member (at most maxMemberValues values)
// and memberOf cost queries, made only when asked.
func (q *query) groupAttrs(ctx context.Context, g *store.Group) (map[string][]string, error) {
	a := map[string][]string{
		"objectClass": {"top", "groupOfNames"}, "cn": {g.Name}, "entryUUID": {g.ID},
	}
	if g.Description != "" {
		a["description"] = []string{g.Description}
	}
	dir := q.l.srv.deps.Directory.Search() // a read replica when there is one
	tn := q.who.tenant.ID
	name := fold(g.Name)
	if q.attrs.wants("member") {
		of := store.DirFilter{Op: store.DirEq, Field: store.FieldMemberOf, Value: name}
		var members []string
		for after := ""; len(members) < maxMemberValues; {
			us, err := dir.FilterUsers(ctx, tn, activeOnly(of), store.Page{After: after, Limit: 1000})
			if err != nil {
				return nil, err
			}
			for i := range us {
				members = append(members, userDN(q.slug, uidOf(&us[i])))
			}
			if len(us) < 1000 {
				break
			}
			after = us[len(us)-1].ID
		}
		for after := ""; len(members) < maxMemberValues; {
			gs, err := dir.FilterGroups(ctx, tn, of, store.Page{After: after, Limit: 1000})
			if err != nil {
				return nil, err
			}
			for i := range gs {
				members = append(members, groupDN(q.slug, gs[i].Name))
			}
			if len(gs) < 1000 {
				break
			}
			after = gs[len(gs)-1].ID
		}
		a["member"] = members[:min(len(members), maxMemberValues)]
	}
	if q.attrs.wants("memberOf") {
		parents, err := dir.FilterGroups(ctx, tn, store.DirFilter{Op: store.DirEq, Field: store.FieldMemberGroup, Value: name},
			store.Page{Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, p := range parents {
			a["memberOf"] = append(a["memberOf"], groupDN(q.slug, p.Name))
		}
	}
	return a, nil
}
