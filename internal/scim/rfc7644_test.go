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
	// A filter's refusal says why in the client's terms, without the
	// prefixes of the packages that refused it (want checks every detail).
	for filter, detail := range map[string]string{
		`nosuch eq "a"`: `The filter is not supported: "nosuch" cannot be filtered on.`,
		`userName eq`:   "The filter is invalid: ",
	} {
		r := e.do("GET", "Users?filter="+q(filter)).want(t, 400, "invalidFilter")
		if d, _ := r.doc["detail"].(string); !strings.HasPrefix(d, detail) {
			t.Errorf("filter %s: detail %q, want %q", filter, d, detail)
		}
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
		a, _ := m["actor"].(map[string]any)
		if m["action"] == "user.notice" {
			// The person told of the change (account disabled) is the
			// notice service's own entry, not a SCIM write.
			if a == nil || a["type"] != "system" {
				t.Errorf("notice actor %v", a)
			}
			continue
		}
		actions = append(actions, m["action"].(string))
		if a != nil && a["type"] != "apikey" {
			t.Errorf("actor %v", a)
		}
	}
	slices.Sort(actions)
	if fmt.Sprint(actions) != "[user.create user.delete user.update]" {
		t.Errorf("audit actions %v", actions)
	}
}
