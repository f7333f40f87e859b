package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestRFC7644 walks RFC 7644 section by section over real HTTP.
func TestRFC7644(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		t.Run("2 authentication", func(t *testing.T) { testAuth(t, e) })
		t.Run("3.3 create", func(t *testing.T) { testCreate(t, e) })
		t.Run("3.4.1 get", func(t *testing.T) { testGet(t, e) })
		t.Run("3.4.2.2 filter matrix", func(t *testing.T) { testFilterMatrix(t, e) })
		t.Run("3.4.2.2 email filters follow writes", func(t *testing.T) { testEmailsFollowWrites(t, e) })
		t.Run("3.4.2.3 sort and 3.4.2.4 pagination", func(t *testing.T) { testSortPage(t, e) })
		t.Run("3.4.2.5 attributes", func(t *testing.T) { testAttributes(t, e) })
		t.Run("3.4.3 search by POST", func(t *testing.T) { testSearchPost(t, e) })
		t.Run("3.5.1 put", func(t *testing.T) { testPut(t, e) })
		t.Run("3.5.2 patch matrix", func(t *testing.T) { testPatchMatrix(t, e) })
		t.Run("3.5.2 group members", func(t *testing.T) { testGroupMembers(t, e) })
		t.Run("3.6 delete", func(t *testing.T) { testDelete(t, e) })
		t.Run("3.12 errors", func(t *testing.T) { testErrors(t, e) })
		t.Run("3.14 etags", func(t *testing.T) { testETags(t, e) })
		t.Run("4 discovery", func(t *testing.T) { testDiscovery(t, e) })
		t.Run("writes are audited", func(t *testing.T) { testAudited(t, e) })
	})
}

func testAuth(t *testing.T, e *env) {
	other := e.newTenant("other-auth")
	cases := map[string]string{
		"no header":          "",
		"basic":              "Basic Zm9vOmJhcg==",
		"garbage":            "Bearer nope",
		"read scope only":    "Bearer " + e.key(e.tenant.ID, "read"),
		"admin scope only":   "Bearer " + e.key(e.tenant.ID, "admin"),
		"another tenant key": "Bearer " + e.key(other.ID, "scim"),
		"platform admin key": "Bearer " + e.key("_platform", "admin"),
	}
	for name, auth := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.doAuth("GET", e.base+"/Users", nil, auth).want(t, 401, "")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no Bearer challenge: %v", r.header)
			}
			// A write is refused alike and changes nothing.
			e.doAuth("POST", e.base+"/Users", map[string]any{"userName": "intruder@example.com"}, auth).want(t, 401, "")
		})
	}
	// Every route, every refused caller: 401, and nothing changes.
	uid := e.createUser("authz@example.com", "authz@example.com", nil)
	gid := e.do("POST", "Groups", map[string]any{"displayName": "authz"}).want(t, 201, "").doc["id"].(string)
	before := e.do("GET", "Users/"+uid).want(t, 200, "").header.Get("ETag")
	routes := [][2]string{{"GET", "ServiceProviderConfig"}, {"GET", "ResourceTypes"}, {"GET", "ResourceTypes/User"},
		{"GET", "Schemas"}, {"GET", "Schemas/" + "urn:ietf:params:scim:schemas:core:2.0:User"},
		{"GET", "Users"}, {"POST", "Users/.search"}, {"POST", "Users"}, {"GET", "Users/" + uid}, {"PUT", "Users/" + uid},
		{"PATCH", "Users/" + uid}, {"DELETE", "Users/" + uid}, {"GET", "Groups"}, {"POST", "Groups/.search"}, {"POST", "Groups"},
		{"GET", "Groups/" + gid}, {"PUT", "Groups/" + gid}, {"PATCH", "Groups/" + gid}, {"DELETE", "Groups/" + gid}}
	bodies := map[string]any{"POST": map[string]any{"userName": "x@example.com", "displayName": "x"},
		"PUT": map[string]any{"userName": "x@example.com", "displayName": "x"}, "PATCH": patch(op("replace", "displayName", "x"))}
	for _, rt := range routes {
		for name, auth := range cases {
			if r := e.doAuth(rt[0], e.base+"/"+rt[1], bodies[rt[0]], auth); r.status != 401 {
				t.Errorf("%s %s as %s: %d", rt[0], rt[1], name, r.status)
			}
		}
	}
	if e.do("GET", "Users/"+uid).want(t, 200, "").header.Get("ETag") != before {
		t.Error("a refused request changed the user")
	}
	if d := e.do("GET", "Groups/"+gid).want(t, 200, "").doc; d["displayName"] != "authz" {
		t.Error("a refused request changed the group")
	}
	if r := e.do("GET", "Users?filter="+q(`userName eq "x@example.com"`)); r.doc["totalResults"] != float64(0) {
		t.Error("a refused POST created a user")
	}
	// An unknown tenant answers exactly as a wrong key does.
	e.doAuth("GET", "/t/nosuch/scim/v2/Users", nil, "Bearer "+e.token).want(t, 401, "")
	e.do("GET", "Users?filter="+q(`userName eq "intruder@example.com"`)).want(t, 200, "")
	if r := e.do("GET", "Users?filter="+q(`userName eq "intruder@example.com"`)); r.doc["totalResults"] != float64(0) {
		t.Errorf("a refused write stored a user: %s", r)
	}
}

func q(s string) string { return url.QueryEscape(s) }

func testCreate(t *testing.T, e *env) {
	r := e.do("POST", "Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"userName": "bjensen@example.com", "externalId": "701984",
		"name":        map[string]any{"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen, III"},
		"displayName": "Babs Jensen", "title": "Tour Guide", "active": true, "locale": "en-US",
		"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"}},
		"phoneNumbers": []any{map[string]any{"value": "555-555-8377", "type": "work"}},
		"password":     "t1meMa$heen-long-enough",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "701984", "department": "Tour Operations", "manager": map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
	}).want(t, 201, "")
	id, _ := r.doc["id"].(string)
	if id == "" || r.header.Get("Location") != "http://127.0.0.1"+e.base+"/Users/"+id {
		t.Fatalf("Location %q for id %q", r.header.Get("Location"), id)
	}
	if r.header.Get("ETag") == "" || r.header.Get("ETag") != r.doc["meta"].(map[string]any)["version"] {
		t.Errorf("ETag %q vs meta.version %v", r.header.Get("ETag"), r.doc["meta"])
	}
	if _, ok := r.doc["password"]; ok {
		t.Error("password returned")
	}
	ent, _ := r.doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	if ent["department"] != "Tour Operations" || r.doc["externalId"] != "701984" || r.doc["displayName"] != "Babs Jensen" {
		t.Errorf("attributes lost: %s", r)
	}
	// The password went through the directory: it signs in.
	if _, err := e.app.Directory.Authenticate(t.Context(), e.tenant.ID, "bjensen@example.com", "t1meMa$heen-long-enough"); err != nil {
		t.Errorf("password not set: %v", err)
	}
	// 409 uniqueness on a duplicate userName, whatever its case.
	e.do("POST", "Users", map[string]any{"userName": "BJensen@Example.com", "emails": []any{map[string]any{"value": "other@example.com"}}}).
		want(t, 409, "uniqueness")
	// Validation is the directory's: a bad email is invalidValue.
	e.do("POST", "Users", map[string]any{"userName": "x1", "emails": []any{map[string]any{"value": "not-an-email"}}}).want(t, 400, "invalidValue")
	e.do("POST", "Users", map[string]any{"emails": []any{map[string]any{"value": "a@example.com"}}}).want(t, 400, "invalidValue")
	e.do("POST", "Users", map[string]any{"userName": "noemail"}).want(t, 400, "invalidValue")
	e.do("POST", "Users", map[string]any{"userName": "weak@example.com", "password": "short"}).want(t, 400, "invalidValue")
	e.do("POST", "Users", map[string]any{"userName": "x2@example.com", "active": "maybe"}).want(t, 400, "invalidValue")
	// Groups.
	g := e.do("POST", "Groups", map[string]any{"displayName": "Tour Guides", "members": []any{map[string]any{"value": id}}}).want(t, 201, "")
	if ms, _ := g.doc["members"].([]any); len(ms) != 1 {
		t.Errorf("members %v", g.doc["members"])
	}
	e.do("POST", "Groups", map[string]any{"displayName": "Tour Guides"}).want(t, 409, "uniqueness")
	e.do("POST", "Groups", map[string]any{"displayName": "Ghosts", "members": []any{map[string]any{"value": "nobody"}}}).want(t, 400, "invalidValue")
	if r := e.do("GET", "Groups?filter="+q(`displayName eq "Ghosts"`)); r.doc["totalResults"] != float64(0) {
		t.Errorf("a refused group was stored: %s", r)
	}
}

func testGet(t *testing.T, e *env) {
	id := e.createUser("get@example.com", "get@example.com", nil)
	gid := e.do("POST", "Groups", map[string]any{"displayName": "getters", "members": []any{map[string]any{"value": id}}}).want(t, 201, "").doc["id"].(string)
	r := e.do("GET", "Users/"+id).want(t, 200, "")
	if r.doc["userName"] != "get@example.com" || r.doc["active"] != true {
		t.Errorf("%s", r)
	}
	gs, _ := r.doc["groups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["value"] != gid {
		t.Errorf("groups %v", r.doc["groups"])
	}
	e.do("GET", "Users/00000000-0000-0000-0000-000000000000").want(t, 404, "")
	// A user of another tenant is not found from here.
	other := e.newTenant("other-get")
	ou, err := e.app.Directory.CreateUser(t.Context(), actor, other.ID, dirUser("stranger@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", "Users/"+ou.ID).want(t, 404, "")
	e.do("PATCH", "Users/"+ou.ID, patch(op("replace", "active", false))).want(t, 404, "")
	e.do("DELETE", "Users/"+ou.ID).want(t, 404, "")
	if r := e.do("GET", "Users?filter="+q(`userName eq "stranger@example.com"`)); r.doc["totalResults"] != float64(0) {
		t.Errorf("another tenant's user listed: %s", r)
	}
}

// filterCase is one row of the filter matrix: the filter and the
// userNames it must answer.
type filterCase struct {
	filter string
	want   []string
}

func testFilterMatrix(t *testing.T, e *env) {
	mk := func(un, email, given, family, title string, active bool, emails []any, ent map[string]any) {
		extra := map[string]any{"name": map[string]any{"givenName": given, "familyName": family}, "title": title, "active": active}
		if emails != nil {
			extra["emails"] = emails
		}
		if ent != nil {
			extra["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = ent
		}
		e.createUser(un, email, extra)
	}
	mk("fm.alice", "alice@fm.example.com", "Alice", "Archer", "Engineer", true,
		[]any{map[string]any{"value": "alice@fm.example.com", "type": "work", "primary": true}, map[string]any{"value": "alice@home.example.org", "type": "home"}},
		map[string]any{"department": "R&D", "employeeNumber": "100"})
	mk("fm.bob", "bob@fm.example.com", "Bob", "Baker", "Manager", false, nil, map[string]any{"department": "Sales", "employeeNumber": "200"})
	mk("fm.carol", "carol@fm.other.net", "Carol", "Cooper", "", true,
		[]any{map[string]any{"value": "carol@fm.other.net", "type": "home", "primary": true}, map[string]any{"value": "c.cooper@fm.example.com", "type": "work"}}, nil)
	mk("fm.dave_100", "dave@fm.example.com", "Dave", "Drake", "Engineer", true, nil, nil)
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	all := []string{"fm.alice", "fm.bob", "fm.carol", "fm.dave_100"}
	for _, c := range []filterCase{
		{`userName eq "fm.alice"`, []string{"fm.alice"}},
		{`userName eq "FM.ALICE"`, []string{"fm.alice"}},
		{`USERNAME Eq "fm.alice"`, []string{"fm.alice"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "fm.bob"`, []string{"fm.bob"}},
		{`userName ne "fm.alice" and userName sw "fm."`, []string{"fm.bob", "fm.carol", "fm.dave_100"}},
		{`userName co "a"`, []string{"fm.alice", "fm.carol", "fm.dave_100"}},
		{`userName co "e_1"`, []string{"fm.dave_100"}},
		{`userName co "._"`, []string{}},
		{`userName co "%"`, []string{}},
		{`userName sw "fm.b"`, []string{"fm.bob"}},
		{`userName ew "ol"`, []string{"fm.carol"}},
		{`userName gt "fm.bob" and userName sw "fm."`, []string{"fm.carol", "fm.dave_100"}},
		{`userName ge "fm.bob" and userName sw "fm."`, []string{"fm.bob", "fm.carol", "fm.dave_100"}},
		{`userName lt "fm.bob" and userName sw "fm."`, []string{"fm.alice"}},
		{`userName le "fm.bob" and userName sw "fm."`, []string{"fm.alice", "fm.bob"}},
		{`title pr and userName sw "fm."`, []string{"fm.alice", "fm.bob", "fm.dave_100"}},
		{`not (title pr) and userName sw "fm."`, []string{"fm.carol"}},
		{`title eq "engineer"`, []string{"fm.alice", "fm.dave_100"}},
		{`active eq false and userName sw "fm."`, []string{"fm.bob"}},
		{`active eq "False" and userName sw "fm."`, []string{"fm.bob"}},
		{`active ne true and userName sw "fm."`, []string{"fm.bob"}},
		{`name.givenName eq "alice" or name.familyName eq "baker"`, []string{"fm.alice", "fm.bob"}},
		{`name.familyName sw "c" and (title eq "x" or active eq true)`, []string{"fm.carol"}},
		{`emails co "@fm.example.com"`, []string{"fm.alice", "fm.bob", "fm.carol", "fm.dave_100"}},
		{`emails.value ew "example.org"`, []string{"fm.alice"}},
		{`emails[type eq "work" and value co "@fm.example.com"]`, []string{"fm.alice", "fm.bob", "fm.carol", "fm.dave_100"}},
		{`emails[type eq "work" and value sw "c."]`, []string{"fm.carol"}},
		{`emails[type eq "home" and value co "@fm.example.com"]`, []string{}},
		{`emails[primary eq true and value ew ".net"]`, []string{"fm.carol"}},
		{`emails[not (type eq "work")] and userName sw "fm."`, []string{"fm.alice", "fm.carol"}},
		{`emails.type eq "home"`, []string{"fm.alice", "fm.carol"}},
		{`emails pr and userName sw "fm."`, all},
		{ent + `department eq "r&d"`, []string{"fm.alice"}},
		{ent + `employeeNumber gt "150"`, []string{"fm.bob"}},
		{ent + `department pr and not (` + ent + `department eq "Sales")`, []string{"fm.alice"}},
		{`meta.created gt "2000-01-01T00:00:00Z" and userName sw "fm."`, all},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, []string{}},
		{`(userName eq "fm.alice" or userName eq "fm.bob") and not (active eq false)`, []string{"fm.alice"}},
		{`userName eq "fm.alice" or userName eq "fm.bob" and active eq true`, []string{"fm.alice"}},
	} {
		t.Run(c.filter, func(t *testing.T) {
			// Other sections' users share the tenant: keep to this matrix's.
			r := e.do("GET", "Users?count=50&filter="+q("("+c.filter+`) and userName sw "fm."`)).want(t, 200, "")
			var got []string
			for _, x := range r.doc["Resources"].([]any) {
				got = append(got, x.(map[string]any)["userName"].(string))
			}
			slices.Sort(got)
			if fmt.Sprint(got) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if r.doc["totalResults"] != float64(len(c.want)) {
				t.Errorf("totalResults %v, want %d", r.doc["totalResults"], len(c.want))
			}
		})
	}
	for _, bad := range []string{`userName eq`, `userName xx "a"`, `userName eq bob`, `(userName eq "a"`,
		`emails[type eq "work"`, `nosuch eq "a"`, `active eq "maybe"`, `userName eq 5`, `meta.created gt "yesterday"`,
		`emails[value[type eq "a"]]`, `urn:bogus:schema:attr eq "a"`, strings.Repeat("(", 40) + `userName eq "a"` + strings.Repeat(")", 40)} {
		t.Run("invalid "+bad, func(t *testing.T) {
			e.do("GET", "Users?filter="+q(bad)).want(t, 400, "invalidFilter")
		})
	}
	// Groups filter in the database too.
	e.do("POST", "Groups", map[string]any{"displayName": "FM Engineers"}).want(t, 201, "")
	r := e.do("GET", "Groups?filter="+q(`displayName eq "fm engineers"`)).want(t, 200, "")
	if r.doc["totalResults"] != float64(1) {
		t.Errorf("group filter: %s", r)
	}
}

func testSortPage(t *testing.T, e *env) {
	var made []string
	for i := range 7 {
		made = append(made, e.createUser(fmt.Sprintf("page.%02d", 7-i), fmt.Sprintf("page%d@example.com", i), nil))
	}
	f := "&filter=" + q(`userName sw "page."`)
	r := e.do("GET", "Users?sortBy=userName&count=3&startIndex=1"+f).want(t, 200, "")
	if r.doc["totalResults"] != float64(7) || r.doc["itemsPerPage"] != float64(3) || r.doc["startIndex"] != float64(1) {
		t.Errorf("page 1: %s", r)
	}
	var names []string
	for start := 1; start <= 7; start += 3 {
		r := e.do("GET", fmt.Sprintf("Users?sortBy=userName&count=3&startIndex=%d", start)+f).want(t, 200, "")
		for _, x := range r.doc["Resources"].([]any) {
			names = append(names, x.(map[string]any)["userName"].(string))
		}
	}
	if !slices.IsSorted(names) || len(names) != 7 {
		t.Errorf("pages sorted by userName: %v", names)
	}
	r = e.do("GET", "Users?sortBy=userName&sortOrder=descending&count=1"+f).want(t, 200, "")
	if r.doc["Resources"].([]any)[0].(map[string]any)["userName"] != "page.07" {
		t.Errorf("descending: %s", r)
	}
	// count=0 answers only the total; startIndex past the end none;
	// startIndex < 1 means 1.
	r = e.do("GET", "Users?count=0"+f).want(t, 200, "")
	if r.doc["totalResults"] != float64(7) || len(r.doc["Resources"].([]any)) != 0 {
		t.Errorf("count=0: %s", r)
	}
	r = e.do("GET", "Users?startIndex=100"+f).want(t, 200, "")
	if len(r.doc["Resources"].([]any)) != 0 || r.doc["totalResults"] != float64(7) {
		t.Errorf("past the end: %s", r)
	}
	r = e.do("GET", "Users?startIndex=-5&count=2"+f).want(t, 200, "")
	if r.doc["startIndex"] != float64(1) || len(r.doc["Resources"].([]any)) != 2 {
		t.Errorf("startIndex<1: %s", r)
	}
	e.do("GET", "Users?count=abc").want(t, 400, "invalidValue")
	e.do("GET", "Users?sortOrder=sideways").want(t, 400, "invalidValue")
	e.do("GET", "Users?sortBy=nosuch").want(t, 400, "invalidFilter")
	// Default order is creation (id) order.
	r = e.do("GET", "Users?count=10"+f).want(t, 200, "")
	if got := ids(t, r); fmt.Sprint(got) != fmt.Sprint(made) {
		t.Errorf("default order %v, want %v", got, made)
	}
}

func testAttributes(t *testing.T, e *env) {
	id := e.createUser("attrs@example.com", "attrs@example.com", map[string]any{"title": "T", "name": map[string]any{"givenName": "A", "familyName": "B"}})
	r := e.do("GET", "Users/"+id+"?attributes=userName,name.givenName").want(t, 200, "")
	if r.doc["userName"] != "attrs@example.com" || r.doc["id"] != id || r.doc["title"] != nil || r.doc["emails"] != nil {
		t.Errorf("attributes: %s", r)
	}
	if n, _ := r.doc["name"].(map[string]any); n["givenName"] != "A" || n["familyName"] != nil {
		t.Errorf("sub-attribute projection: %v", r.doc["name"])
	}
	r = e.do("GET", "Users/"+id+"?excludedAttributes=emails,groups,name.familyName").want(t, 200, "")
	if r.doc["emails"] != nil || r.doc["groups"] != nil || r.doc["title"] != "T" {
		t.Errorf("excludedAttributes: %s", r)
	}
	if n, _ := r.doc["name"].(map[string]any); n["givenName"] != "A" || n["familyName"] != nil {
		t.Errorf("excluded sub-attribute: %v", r.doc["name"])
	}
	r = e.do("GET", "Users?attributes=userName&filter="+q(`userName eq "attrs@example.com"`)).want(t, 200, "")
	if u := r.doc["Resources"].([]any)[0].(map[string]any); len(u) != 3 {
		t.Errorf("list attributes: %v", u)
	}
	gid := e.do("POST", "Groups", map[string]any{"displayName": "attr group", "members": []any{map[string]any{"value": id}}}).want(t, 201, "").doc["id"].(string)
	r = e.do("GET", "Groups/"+gid+"?excludedAttributes=members").want(t, 200, "")
	if r.doc["members"] != nil || r.doc["displayName"] != "attr group" {
		t.Errorf("group excludedAttributes: %s", r)
	}
}

func testSearchPost(t *testing.T, e *env) {
	e.createUser("search.post@example.com", "search.post@example.com", nil)
	r := e.do("POST", "Users/.search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `userName eq "search.post@example.com"`, "attributes": []string{"userName"}, "count": 5}).want(t, 200, "")
	if r.doc["totalResults"] != float64(1) {
		t.Errorf("%s", r)
	}
	e.do("POST", "Users/.search", map[string]any{"filter": `userName eq`}).want(t, 400, "invalidFilter")
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

func testErrors(t *testing.T, e *env) {
	e.do("POST", "Users", `{"userName": `).want(t, 400, "invalidSyntax")
	e.do("POST", "Users", `{"userName":"a@example.com"} {}`).want(t, 400, "invalidSyntax")
	r := e.doAuth("POST", e.base+"/Users", "userName=a", "Bearer "+e.token, "Content-Type", "application/x-www-form-urlencoded")
	r.want(t, 415, "")
	e.do("POST", "Users", `{"userName":"`+strings.Repeat("a", 2<<20)+`"}`).want(t, 413, "")
	e.do("GET", "Nope").want(t, 404, "")
	id := e.createUser("errors@example.com", "errors@example.com", nil)
	e.do("PATCH", "Users/"+id, `[]`).want(t, 400, "invalidSyntax")
	if r := e.do("GET", "Users?filter="+q(`userName eq "x" and`)); strings.Contains(strings.ToLower(string(r.body)), "select") {
		t.Errorf("SQL leaked: %s", r.body)
	}
}

func testETags(t *testing.T, e *env) {
	id := e.createUser("etag@example.com", "etag@example.com", nil)
	r := e.do("GET", "Users/"+id).want(t, 200, "")
	tag := r.header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("ETag %q", tag)
	}
	r2 := e.do("PATCH", "Users/"+id, patch(op("replace", "title", "v2")), "If-Match", tag).want(t, 200, "")
	if r2.header.Get("ETag") == tag {
		t.Error("ETag unchanged by a write")
	}
	// The old tag is stale now: 412 and nothing changes.
	e.do("PATCH", "Users/"+id, patch(op("replace", "title", "v3")), "If-Match", tag).want(t, 412, "")
	e.do("PUT", "Users/"+id, map[string]any{"userName": "etag@example.com", "title": "v3"}, "If-Match", tag).want(t, 412, "")
	e.do("DELETE", "Users/"+id, nil, "If-Match", tag).want(t, 412, "")
	if d := e.do("GET", "Users/"+id).doc; d["title"] != "v2" {
		t.Errorf("a stale write changed the user: %v", d["title"])
	}
	e.do("DELETE", "Users/"+id, nil, "If-Match", r2.header.Get("ETag")).want(t, 204, "")
	gid := e.do("POST", "Groups", map[string]any{"displayName": "etag group"}).want(t, 201, "")
	gtag := gid.header.Get("ETag")
	e.do("PATCH", "Groups/"+gid.doc["id"].(string), patch(op("replace", "displayName", "etag group 2")), "If-Match", gtag).want(t, 204, "")
	e.do("PATCH", "Groups/"+gid.doc["id"].(string), patch(op("replace", "displayName", "etag group 3")), "If-Match", gtag).want(t, 412, "")
}

func testDiscovery(t *testing.T, e *env) {
	r := e.do("GET", "ServiceProviderConfig").want(t, 200, "")
	for _, k := range []string{"patch", "filter", "sort", "etag", "bulk", "changePassword"} {
		if _, ok := r.doc[k].(map[string]any); !ok {
			t.Errorf("ServiceProviderConfig lacks %s", k)
		}
	}
	if r.doc["filter"].(map[string]any)["supported"] != true || r.doc["bulk"].(map[string]any)["supported"] != false {
		t.Errorf("%s", r)
	}
	r = e.do("GET", "ResourceTypes").want(t, 200, "")
	if r.doc["totalResults"] != float64(2) {
		t.Errorf("%s", r)
	}
	e.do("GET", "ResourceTypes/User").want(t, 200, "")
	e.do("GET", "ResourceTypes/Nope").want(t, 404, "")
	r = e.do("GET", "Schemas").want(t, 200, "")
	if r.doc["totalResults"] != float64(3) {
		t.Errorf("%s", r)
	}
	r = e.do("GET", "Schemas/urn:ietf:params:scim:schemas:core:2.0:User").want(t, 200, "")
	found := false
	for _, a := range r.doc["attributes"].([]any) {
		if m := a.(map[string]any); m["name"] == "userName" && m["uniqueness"] == "server" && m["required"] == true {
			found = true
		}
	}
	if !found {
		t.Errorf("User schema lacks userName: %s", r)
	}
	e.do("GET", "Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").want(t, 200, "")
}

func testAudited(t *testing.T, e *env) {
	id := e.createUser("audit@example.com", "audit@example.com", nil)
	e.do("PATCH", "Users/"+id, patch(op("replace", "active", false))).want(t, 200, "")
	e.do("DELETE", "Users/"+id).want(t, 204, "")
	r := e.doAuth("GET", "/api/v1/tenants/acme/audit?target_id="+id, nil, "Bearer "+e.key(e.tenant.ID, "admin"))
	if r.status != http.StatusOK {
		t.Fatalf("audit: %s", r)
	}
	var actions []string
	for _, x := range r.doc["items"].([]any) {
		m := x.(map[string]any)
		actions = append(actions, m["action"].(string))
		if a, _ := m["actor"].(map[string]any); a != nil && a["type"] != "apikey" {
			t.Errorf("actor %v", a)
		}
	}
	slices.Sort(actions)
	if fmt.Sprint(actions) != "[user.create user.delete user.update]" {
		t.Errorf("audit actions %v", actions)
	}
}

// testEmailsFollowWrites: email filters read what the last write stored,
// for users written through SCIM and through the directory alike.
func testEmailsFollowWrites(t *testing.T, e *env) {
	count := func(f string) any {
		t.Helper()
		return e.do("GET", "Users?count=0&filter="+q(f)).want(t, 200, "").doc["totalResults"]
	}
	rest, err := e.app.Directory.CreateUser(t.Context(), actor, e.tenant.ID, dirUser("Rest.User@EFW.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(`emails[value eq "rest.user@efw.example.com" and primary eq true]`); n != float64(1) {
		t.Errorf("a directory user's email: %v", n)
	}
	id := e.createUser("efw", "one@efw.example.com", map[string]any{"emails": []any{
		map[string]any{"value": "one@efw.example.com", "type": "work", "primary": true},
		map[string]any{"value": "two@efw.example.com", "type": "home"}}})
	if n := count(`emails[type eq "home" and value eq "two@efw.example.com"]`); n != float64(1) {
		t.Errorf("second email: %v", n)
	}
	e.do("PATCH", "Users/"+id, patch(op("replace", `emails[type eq "home"].value`, "three@efw.example.com"))).want(t, 200, "")
	if n := count(`emails co "two@efw"`); n != float64(0) {
		t.Errorf("old email still found: %v", n)
	}
	if n := count(`emails[type eq "home" and value sw "three@"]`); n != float64(1) {
		t.Errorf("new email not found: %v", n)
	}
	e.do("PUT", "Users/"+id, map[string]any{"userName": "efw", "emails": []any{map[string]any{"value": "four@efw.example.com"}}}).want(t, 200, "")
	if n := count(`emails ew "@efw.example.com"`); n != float64(2) {
		t.Errorf("after PUT: %v users, want 2 (rest, four)", n)
	}
	// The REST API changes the email; the filter follows.
	newEmail := "rest.renamed@efw.example.com"
	if _, err := e.app.Directory.UpdateUser(t.Context(), actor, e.tenant.ID, rest.ID, 0, dirPatchEmail(newEmail)); err != nil {
		t.Fatal(err)
	}
	if count(`emails.value eq "rest.user@efw.example.com"`) != float64(0) || count(`emails.value eq "rest.renamed@efw.example.com"`) != float64(1) {
		t.Error("a directory email change is not seen by the filter")
	}
	e.do("DELETE", "Users/"+id).want(t, 204, "")
	if n := count(`emails co "four@efw"`); n != float64(0) {
		t.Errorf("deleted user's email found: %v", n)
	}
}
