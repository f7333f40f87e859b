package scim_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// TestUserNameFilterMatchesShownEmail: a user without a username is shown
// with its email as userName, and `userName eq` finds it by that, as Okta
// and Entra ID look users up before they create them.
func TestUserNameFilterMatchesShownEmail(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		dana, err := e.app.Directory.CreateUser(t.Context(), actor, e.tenant.ID, directory.NewUser{Email: "Dana@Example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Directory.CreateUser(t.Context(), actor, e.tenant.ID, directory.NewUser{Email: "erin@example.com", Username: "erin"}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{`userName eq "dana@example.com"`, `userName eq "DANA@example.COM"`, `userName sw "dana@"`} {
			r := e.do("GET", "Users?filter="+q(f)).want(t, 200, "")
			if got := ids(t, r); len(got) != 1 || got[0] != dana.ID {
				t.Fatalf("%s: %v, want [%s]", f, got, dana.ID)
			}
			res := r.doc["Resources"].([]any)[0].(map[string]any)
			if res["userName"] != "Dana@Example.com" {
				t.Errorf("%s: userName %v", f, res["userName"])
			}
		}
		// A user with a username is not found by its email as userName.
		r := e.do("GET", "Users?filter="+q(`userName eq "erin@example.com"`)).want(t, 200, "")
		if got := ids(t, r); len(got) != 0 {
			t.Errorf("userName eq erin's email: %v, want none", got)
		}
		r = e.do("GET", "Users?filter="+q(`userName eq "erin"`)).want(t, 200, "")
		if got := ids(t, r); len(got) != 1 {
			t.Errorf("userName eq erin: %v", got)
		}
		// Sorting by userName sorts by what is shown.
		r = e.do("GET", "Users?sortBy=userName").want(t, 200, "")
		var names []string
		for _, x := range r.doc["Resources"].([]any) {
			names = append(names, strings.ToLower(x.(map[string]any)["userName"].(string)))
		}
		if strings.Join(names, ",") != "dana@example.com,erin" {
			t.Errorf("sortBy=userName: %v", names)
		}
	})
}

// TestLookalikeUserRefused: SCIM refuses an address that looks like
// another user's, and one that mixes scripts, with errors naming emails.
func TestLookalikeUserRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.createUser("carol", "carol@example.com", nil)
		body := func(userName, email string) map[string]any {
			return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName,
				"emails": []any{map[string]any{"value": email, "type": "work", "primary": true}}}
		}
		r := e.do("POST", "Users", body("c2", "caro1@example.com")).want(t, 409, "uniqueness")
		if d, _ := r.doc["detail"].(string); !strings.Contains(d, "emails looks like another user's") {
			t.Errorf("detail %q", d)
		}
		r = e.do("POST", "Users", body("c3", "саrol@example.com")).want(t, 400, "invalidValue")
		if d, _ := r.doc["detail"].(string); !strings.HasPrefix(d, "emails: ") || !strings.Contains(d, "scripts") {
			t.Errorf("detail %q", d)
		}
		r = e.do("POST", "Users", body("саrol", "c4@example.com")).want(t, 400, "invalidValue")
		if d, _ := r.doc["detail"].(string); !strings.HasPrefix(d, "userName: ") {
			t.Errorf("detail %q", d)
		}
		e.do("POST", "Users", body("c5", "carol\u200b@example.com")).want(t, 400, "invalidValue")
		e.do("POST", "Users", body("josé", "josé@example.com")).want(t, 201, "")
	})
}
