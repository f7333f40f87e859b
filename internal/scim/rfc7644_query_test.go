package scim_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// RFC 7644 section 3.4: querying resources (TestRFC7644 runs these).

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
