package scim_test

import (
	"strings"
	"testing"
)

// The bodies below replay what Microsoft Entra ID and Okta send, in the
// shapes of their published SCIM documentation (docs/scim.md lists each
// quirk and points here). Only ids are substituted.

func sub(body string, kv ...string) string { return strings.NewReplacer(kv...).Replace(body) }

func TestEntraID(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		// Create User: meta in the body, roles (not kept), a userName that
		// is no email, the address in emails.
		r := e.do("POST", "Users", `{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}`).want(t, 201, "")
		id := r.doc["id"].(string)

		// Get User by query: a filter on userName.
		r = e.do("GET", `Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22`).want(t, 200, "")
		if r.doc["totalResults"] != float64(1) || ids(t, r)[0] != id {
			t.Fatalf("lookup: %s", r)
		}
		// Get User by query, zero results.
		r = e.do("GET", `Users?filter=userName+eq+%22non-existent%20user%22`).want(t, 200, "")
		if r.doc["totalResults"] != float64(0) {
			t.Errorf("%s", r)
		}

		// Quirk: capitalised op names and the filtered path
		// emails[type eq "work"].value.
		e.do("PATCH", "Users/"+id, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
    {
        "op": "Replace",
        "path": "emails[type eq \"work\"].value",
        "value": "updatedEmail@microsoft.com"
    },
    {
        "op": "Replace",
        "path": "name.familyName",
        "value": "updatedFamilyName"
    }
    ]
}`).want(t, 200, "")
		u, _ := e.app.Directory.GetUser(t.Context(), e.tenant.ID, id)
		if u.Email != "updatedEmail@microsoft.com" || u.FamilyName != "updatedFamilyName" {
			t.Errorf("multi-valued update: %+v", u)
		}

		// Quirk: "Add" on emails[type eq "work"].value when the value
		// exists means replace it.
		e.do("PATCH", "Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"tester"},
{"op":"Add","path":"emails[type eq \"work\"].value","value":"second@joe.com"}]}`).want(t, 200, "")
		u, _ = e.app.Directory.GetUser(t.Context(), e.tenant.ID, id)
		if u.Email != "second@joe.com" {
			t.Errorf("Add on a filtered path: %s", u.Email)
		}

		// Single-valued update.
		e.do("PATCH", "Users/"+id, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}`).want(t, 200, "")

		// Quirk: a PATCH with no path and a value object whose keys are
		// paths, a filtered one and an extension URN among them.
		e.do("PATCH", "Users/"+id, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "Replace",
            "value": {
                "displayName": "Pvlo",
                "emails[type eq \"work\"].value": "TestBcwqnm@test.microsoft.com",
                "name.givenName": "Ysvaqy",
                "name.familyName": "Hvyopz",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Eqtbzhu"
            }
        }
    ]
}`).want(t, 200, "")
		r = e.do("GET", "Users/"+id).want(t, 200, "")
		ent, _ := r.doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
		if r.doc["displayName"] != "Pvlo" || ent["employeeNumber"] != "Eqtbzhu" ||
			r.doc["name"].(map[string]any)["givenName"] != "Ysvaqy" {
			t.Errorf("no-path replace: %s", r)
		}
		u, _ = e.app.Directory.GetUser(t.Context(), e.tenant.ID, id)
		if u.Email != "TestBcwqnm@test.microsoft.com" {
			t.Errorf("no-path filtered key: %s", u.Email)
		}

		// Quirk: booleans as the strings "False" and "True".
		e.do("PATCH", "Users/"+id, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": "False"
        }
    ]
}`).want(t, 200, "")
		if u, _ = e.app.Directory.GetUser(t.Context(), e.tenant.ID, id); u.Status != "disabled" {
			t.Errorf("\"False\": %s", u.Status)
		}
		e.do("PATCH", "Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":"True"}}]}`).want(t, 200, "")
		if u, _ = e.app.Directory.GetUser(t.Context(), e.tenant.ID, id); u.Status != "active" {
			t.Errorf("\"True\": %s", u.Status)
		}

		// Groups: create with a Microsoft schema URN we do not know, look
		// up without members, add and remove members with "$ref": null.
		r = e.do("POST", "Groups", `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}`).want(t, 201, "")
		gid := r.doc["id"].(string)
		r = e.do("GET", `Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22`).want(t, 200, "")
		if r.doc["totalResults"] != float64(1) || r.doc["Resources"].([]any)[0].(map[string]any)["members"] != nil {
			t.Errorf("group lookup: %s", r)
		}
		e.do("PATCH", "Groups/"+gid, sub(`{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Add",
        "path": "members",
        "value": [{
            "$ref": null,
            "value": "USERID"
        }]
    }]
}`, "USERID", id)).want(t, 204, "")
		if r = e.do("GET", "Groups/"+gid).want(t, 200, ""); len(r.doc["members"].([]any)) != 1 {
			t.Errorf("add member: %s", r)
		}
		e.do("PATCH", "Groups/"+gid, sub(`{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Remove",
        "path": "members",
        "value": [{
            "$ref": null,
            "value": "USERID"
        }]
    }]
}`, "USERID", id)).want(t, 204, "")
		if r = e.do("GET", "Groups/"+gid).want(t, 200, ""); len(r.doc["members"].([]any)) != 0 {
			t.Errorf("remove member: %s", r)
		}
		e.do("PATCH", "Groups/"+gid, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "displayName",
        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    }]
}`).want(t, 204, "")
		e.do("DELETE", "Groups/"+gid).want(t, 204, "")
		e.do("DELETE", "Users/"+id).want(t, 204, "")
	})
}

func TestOkta(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		// Create User: groups (read-only) sent empty, a password.
		r := e.do("POST", "Users", `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "test.user@okta.local",
  "name": {
    "givenName": "Test",
    "familyName": "User"
  },
  "emails": [{
    "primary": true,
    "value": "test.user@okta.local",
    "type": "work"
  }],
  "displayName": "Test User",
  "locale": "en-US",
  "externalId": "00ujl29u0le5T6Aj10h7",
  "groups": [],
  "password": "1mz050nq",
  "active": true
}`).want(t, 201, "")
		id := r.doc["id"].(string)
		// Okta looks users up with startIndex and count.
		r = e.do("GET", "Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").want(t, 200, "")
		if r.doc["totalResults"] != float64(1) || r.doc["startIndex"] != float64(1) {
			t.Fatalf("lookup: %s", r)
		}
		// Quirk: deactivation is a replace with no path and a value object.
		e.do("PATCH", "Users/"+id, `{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{
    "op": "replace",
    "value": {
      "active": false
    }
  }]
}`).want(t, 200, "")
		if u, _ := e.app.Directory.GetUser(t.Context(), e.tenant.ID, id); u.Status != "disabled" {
			t.Errorf("deactivate: %s", u.Status)
		}
		// Quirk: PUT repeats id, meta and groups (read-only) from the GET.
		e.do("PUT", "Users/"+id, sub(`{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "USERID",
  "userName": "test.user@okta.local",
  "name": {
    "givenName": "Another",
    "familyName": "User"
  },
  "emails": [{
    "primary": true,
    "value": "test.user@okta.local",
    "type": "work"
  }],
  "displayName": "Another User",
  "locale": "en-US",
  "externalId": "00ujl29u0le5T6Aj10h7",
  "groups": [],
  "active": true,
  "meta": {
    "resourceType": "User",
    "created": "2019-12-18T20:27:28Z",
    "lastModified": "2019-12-18T20:27:28Z"
  }
}`, "USERID", id)).want(t, 200, "")
		if u, _ := e.app.Directory.GetUser(t.Context(), e.tenant.ID, id); u.GivenName != "Another" || u.Status != "active" {
			t.Errorf("PUT: %+v", u)
		}

		r = e.do("POST", "Groups", `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "displayName": "Test SCIMv2",
  "members": []
}`).want(t, 201, "")
		gid := r.doc["id"].(string)
		r = e.do("GET", "Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100").want(t, 200, "")
		if r.doc["totalResults"] != float64(1) {
			t.Errorf("group lookup: %s", r)
		}
		// Quirk: a rename is a no-path replace that repeats the id.
		e.do("PATCH", "Groups/"+gid, sub(`{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{
    "op": "replace",
    "value": {
      "id": "GROUPID",
      "displayName": "Test SCIMv2 renamed"
    }
  }]
}`, "GROUPID", gid)).want(t, 204, "")
		e.do("PATCH", "Groups/"+gid, sub(`{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{
    "op": "add",
    "path": "members",
    "value": [{
      "value": "USERID",
      "display": "test.user@okta.local"
    }]
  }]
}`, "USERID", id)).want(t, 204, "")
		r = e.do("GET", "Groups/"+gid).want(t, 200, "")
		if r.doc["displayName"] != "Test SCIMv2 renamed" || len(r.doc["members"].([]any)) != 1 {
			t.Errorf("rename and add: %s", r)
		}
		// Removal names the member in a filtered path.
		e.do("PATCH", "Groups/"+gid, sub(`{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{
    "op": "remove",
    "path": "members[value eq \"USERID\"]"
  }]
}`, "USERID", id)).want(t, 204, "")
		if r = e.do("GET", "Groups/"+gid).want(t, 200, ""); len(r.doc["members"].([]any)) != 0 {
			t.Errorf("remove: %s", r)
		}
		// A no-path replace with another id is refused.
		e.do("PATCH", "Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"other","displayName":"x"}}]}`).
			want(t, 400, "mutability")
	})
}
