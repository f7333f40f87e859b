package scim_test

import (
	"fmt"
	"slices"
	"testing"
)

// RFC 7644 sections 3.5 and 3.6: modifying and deleting (TestRFC7644 runs these).

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func testPut(t *testing.T, e *env) {
	id := e.createUser("put@example.com", "put@example.com", map[string]any{"title": "Old", "nickName": "putty"})
	r := e.do("PUT", "Users/"+id, map[string]any{"userName": "put.renamed@example.com",
		"emails": []any{map[string]any{"value": "put.new@example.com", "primary": true}},
		"name":   map[string]any{"givenName": "Put"}, "active": false}).want(t, 200, "")
	if r.doc["userName"] != "put.renamed@example.com" || r.doc["title"] != nil || r.doc["nickName"] != nil || r.doc["active"] != false {
		t.Errorf("PUT replaces: %s", r)
	}
	u, err := e.app.Directory.GetUser(t.Context(), e.tenant.ID, id)
	if err != nil || u.Email != "put.new@example.com" || u.Status != "disabled" || u.GivenName != "Put" {
		t.Errorf("stored %+v %v", u, err)
	}
	// A locked user stays locked whatever active says.
	if _, err := e.app.Directory.UpdateUser(t.Context(), actor, e.tenant.ID, id, 0, dirPatchStatus("locked")); err != nil {
		t.Fatal(err)
	}
	r = e.do("PUT", "Users/"+id, map[string]any{"userName": "put.renamed@example.com", "active": true}).want(t, 200, "")
	if u, _ := e.app.Directory.GetUser(t.Context(), e.tenant.ID, id); u.Status != "locked" || r.doc["active"] != false {
		t.Errorf("PUT active:true unlocked a locked user: %s", u.Status)
	}
	e.do("PUT", "Users/"+id, map[string]any{"id": "another", "userName": "put.renamed@example.com"}).want(t, 400, "mutability")
	e.do("PUT", "Users/"+id, map[string]any{"emails": []any{map[string]any{"value": "x@example.com"}}}).want(t, 400, "invalidValue")
	other := e.createUser("put.other@example.com", "put.other@example.com", nil)
	e.do("PUT", "Users/"+other, map[string]any{"userName": "put.renamed@example.com"}).want(t, 409, "uniqueness")
	// Group PUT replaces name and members.
	gid := e.do("POST", "Groups", map[string]any{"displayName": "put group", "members": []any{map[string]any{"value": id}}}).want(t, 201, "").doc["id"].(string)
	r = e.do("PUT", "Groups/"+gid, map[string]any{"displayName": "put group 2", "members": []any{map[string]any{"value": other}}}).want(t, 200, "")
	ms := e.do("GET", "Groups/"+gid).want(t, 200, "").doc["members"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["value"] != other || r.doc["displayName"] != "put group 2" {
		t.Errorf("group PUT: %v %s", ms, r)
	}
}

func testPatchMatrix(t *testing.T, e *env) {
	type pcase struct {
		name  string
		ops   []map[string]any
		check func(t *testing.T, doc map[string]any)
	}
	email := func(doc map[string]any, typ string) map[string]any {
		for _, x := range doc["emails"].([]any) {
			if m := x.(map[string]any); m["type"] == typ {
				return m
			}
		}
		return nil
	}
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for i, c := range []pcase{
		{"add simple", []map[string]any{op("add", "title", "Boss")}, func(t *testing.T, d map[string]any) {
			if d["title"] != "Boss" {
				t.Error(d["title"])
			}
		}},
		{"replace sub-attribute", []map[string]any{op("replace", "name.givenName", "Pat")}, func(t *testing.T, d map[string]any) {
			if d["name"].(map[string]any)["givenName"] != "Pat" || d["name"].(map[string]any)["familyName"] != "Orig" {
				t.Error(d["name"])
			}
		}},
		{"replace complex merges", []map[string]any{op("replace", "name", map[string]any{"familyName": "New"})}, func(t *testing.T, d map[string]any) {
			if n := d["name"].(map[string]any); n["givenName"] != "Orig" || n["familyName"] != "New" {
				t.Error(n)
			}
		}},
		{"add to multi-valued appends", []map[string]any{op("add", "emails", []any{map[string]any{"value": "home@example.org", "type": "home"}})},
			func(t *testing.T, d map[string]any) {
				if len(d["emails"].([]any)) != 2 || email(d, "home") == nil {
					t.Error(d["emails"])
				}
			}},
		{"replace filtered sub-attribute", []map[string]any{op("add", "emails", []any{map[string]any{"value": "h@example.org", "type": "home"}}),
			op("replace", `emails[type eq "home"].value`, "h2@example.org")}, func(t *testing.T, d map[string]any) {
			if email(d, "home")["value"] != "h2@example.org" || email(d, "work")["value"] == "h2@example.org" {
				t.Error(d["emails"])
			}
		}},
		{"remove filtered", []map[string]any{op("add", "emails", []any{map[string]any{"value": "h@example.org", "type": "home"}}),
			op("remove", `emails[type eq "home"]`, nil)}, func(t *testing.T, d map[string]any) {
			if len(d["emails"].([]any)) != 1 || email(d, "home") != nil {
				t.Error(d["emails"])
			}
		}},
		{"remove attribute", []map[string]any{op("remove", "title", nil)}, func(t *testing.T, d map[string]any) {
			if _, ok := d["title"]; ok {
				t.Error(d["title"])
			}
		}},
		{"remove sub-attribute", []map[string]any{op("remove", "name.givenName", nil)}, func(t *testing.T, d map[string]any) {
			if d["name"].(map[string]any)["givenName"] != nil {
				t.Error(d["name"])
			}
		}},
		{"enterprise path", []map[string]any{op("add", ent+":department", "Ops"), op("replace", ent+":manager.value", "m-1")},
			func(t *testing.T, d map[string]any) {
				x := d[ent].(map[string]any)
				if x["department"] != "Ops" || x["manager"].(map[string]any)["value"] != "m-1" {
					t.Error(x)
				}
			}},
		{"enterprise object", []map[string]any{op("add", ent, map[string]any{"costCenter": "42"})}, func(t *testing.T, d map[string]any) {
			if d[ent].(map[string]any)["costCenter"] != "42" {
				t.Error(d[ent])
			}
		}},
		{"no path, value object", []map[string]any{op("replace", "", map[string]any{"title": "NP", "name.familyName": "Dotted", "active": false})},
			func(t *testing.T, d map[string]any) {
				if d["title"] != "NP" || d["name"].(map[string]any)["familyName"] != "Dotted" || d["active"] != false {
					t.Error(d)
				}
			}},
		{"replace userName", []map[string]any{op("replace", "userName", fmt.Sprintf("renamed%d@example.com", 99))}, func(t *testing.T, d map[string]any) {
			if d["userName"] != "renamed99@example.com" {
				t.Error(d["userName"])
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := e.createUser(fmt.Sprintf("patch%d@example.com", i), fmt.Sprintf("patch%d@example.com", i),
				map[string]any{"title": "Orig", "name": map[string]any{"givenName": "Orig", "familyName": "Orig"}})
			r := e.do("PATCH", "Users/"+id, patch(c.ops...)).want(t, 200, "")
			c.check(t, r.doc)
			// What was answered is what is stored.
			c.check(t, e.do("GET", "Users/"+id).want(t, 200, "").doc)
		})
	}
	id := e.createUser("patch.err@example.com", "patch.err@example.com", map[string]any{"title": "Keep"})
	for _, c := range []struct {
		name, scimType string
		body           any
	}{
		{"unknown op", "invalidSyntax", patch(op("move", "title", "x"))},
		{"no operations", "invalidSyntax", patch()},
		{"wrong schema", "invalidSyntax", map[string]any{"schemas": []string{"urn:x"}, "Operations": []any{op("add", "title", "x")}}},
		{"bad path", "invalidPath", patch(op("add", "emails[type eq", "x"))},
		{"unknown attribute", "invalidPath", patch(op("add", "nosuch", "x"))},
		{"read-only id", "mutability", patch(op("replace", "id", "other"))},
		{"read-only meta", "mutability", patch(op("replace", "meta", map[string]any{}))},
		{"read-only groups", "mutability", patch(op("add", "groups", []any{map[string]any{"value": "g"}}))},
		{"remove without path", "noTarget", patch(op("remove", "", nil))},
		{"filter on single-valued", "invalidPath", patch(op("replace", `title[value eq "x"]`, "y"))},
		{"no match", "noTarget", patch(op("replace", `emails[type co "x"].value`, "a@b.example"))},
		{"wrong type", "invalidValue", patch(op("replace", "active", "perhaps"))},
		{"invalid email", "invalidValue", patch(op("replace", `emails[type eq "work"].value`, "nope"))},
		{"later op fails: nothing stored", "invalidPath", patch(op("replace", "title", "Changed"), op("add", "nosuch", "x"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.do("PATCH", "Users/"+id, c.body).want(t, 400, c.scimType)
			if d := e.do("GET", "Users/"+id).doc; d["title"] != "Keep" || d["userName"] != "patch.err@example.com" {
				t.Errorf("a failed PATCH changed the user: %v", d)
			}
		})
	}
}

func testGroupMembers(t *testing.T, e *env) {
	a := e.createUser("gm.a@example.com", "gm.a@example.com", nil)
	b := e.createUser("gm.b@example.com", "gm.b@example.com", nil)
	c := e.createUser("gm.c@example.com", "gm.c@example.com", nil)
	gid := e.do("POST", "Groups", map[string]any{"displayName": "gm"}).want(t, 201, "").doc["id"].(string)
	sub := e.do("POST", "Groups", map[string]any{"displayName": "gm-sub"}).want(t, 201, "").doc["id"].(string)
	members := func() []string {
		var out []string
		for _, m := range e.do("GET", "Groups/"+gid).want(t, 200, "").doc["members"].([]any) {
			out = append(out, m.(map[string]any)["value"].(string))
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	mv := func(ids ...string) []any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	e.do("PATCH", "Groups/"+gid, patch(op("add", "members", mv(a, b, sub)))).want(t, 204, "")
	if got := members(); fmt.Sprint(got) != fmt.Sprint(sorted(a, b, sub)) {
		t.Errorf("add: %v", got)
	}
	// Adding again changes nothing.
	e.do("PATCH", "Groups/"+gid, patch(op("add", "members", mv(a)))).want(t, 204, "")
	e.do("PATCH", "Groups/"+gid, patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, a), nil))).want(t, 204, "")
	if got := members(); fmt.Sprint(got) != fmt.Sprint(sorted(b, sub)) {
		t.Errorf("remove filtered: %v", got)
	}
	if r := e.do("GET", "Groups?filter="+q(fmt.Sprintf(`members[value eq "%s"]`, b))).want(t, 200, ""); r.doc["totalResults"] != float64(1) {
		t.Errorf("members filter: %s", r)
	}
	e.do("PATCH", "Groups/"+gid, patch(op("replace", "members", mv(c)))).want(t, 204, "")
	if got := members(); fmt.Sprint(got) != fmt.Sprint([]string{c}) {
		t.Errorf("replace: %v", got)
	}
	e.do("PATCH", "Groups/"+gid, patch(op("add", "members", mv(a)), op("remove", "members", mv(c)))).want(t, 204, "")
	if got := members(); fmt.Sprint(got) != fmt.Sprint([]string{a}) {
		t.Errorf("remove by value: %v", got)
	}
	e.do("PATCH", "Groups/"+gid, patch(op("replace", "displayName", "gm renamed"))).want(t, 204, "")
	if d := e.do("GET", "Groups/"+gid).doc; d["displayName"] != "gm renamed" {
		t.Errorf("rename: %v", d)
	}
	e.do("PATCH", "Groups/"+gid, patch(op("remove", "members", nil))).want(t, 204, "")
	if got := members(); len(got) != 0 {
		t.Errorf("remove all: %v", got)
	}
	e.do("PATCH", "Groups/"+gid, patch(op("add", "members", mv("nobody")))).want(t, 400, "invalidValue")
	e.do("PATCH", "Groups/"+sub, patch(op("add", "members", mv(gid)))).want(t, 204, "")
	e.do("PATCH", "Groups/"+gid, patch(op("add", "members", mv(sub)))).want(t, 400, "invalidValue") // a cycle
	e.do("PATCH", "Groups/"+gid, patch(op("replace", "nosuch", "x"))).want(t, 400, "invalidPath")
}

func testDelete(t *testing.T, e *env) {
	id := e.createUser("del@example.com", "del@example.com", nil)
	r := e.do("DELETE", "Users/"+id).want(t, 204, "")
	if len(r.body) != 0 {
		t.Errorf("body on 204: %s", r.body)
	}
	e.do("GET", "Users/"+id).want(t, 404, "")
	e.do("DELETE", "Users/"+id).want(t, 404, "")
	gid := e.do("POST", "Groups", map[string]any{"displayName": "del group"}).want(t, 201, "").doc["id"].(string)
	e.do("DELETE", "Groups/"+gid).want(t, 204, "")
	e.do("GET", "Groups/"+gid).want(t, 404, "")
}
