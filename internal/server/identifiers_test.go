package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestAPILookalikeUsers: the management API refuses an email or username
// that looks like another user's with a 409 naming the field, one with
// mixed scripts or invisible characters with a 400 naming it, and accepts
// internationalised ones that look like no one's.
func TestAPILookalikeUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("look")
		tok := "Bearer " + ta.key(tn.ID, tenancy.ScopeAdmin)
		post := func(body map[string]string) *response {
			return ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/look/users", auth: tok, body: body})
		}
		if res := post(map[string]string{"email": "carol@example.com", "username": "carol"}); res.status != http.StatusCreated {
			t.Fatalf("create carol: %s", res)
		}
		for _, c := range []struct {
			body   map[string]string
			status int
			field  string
			says   string
		}{
			{map[string]string{"email": "caro1@example.com"}, http.StatusConflict, "email", "looks like one already in use"},
			{map[string]string{"email": "caroI@example.com"}, http.StatusConflict, "email", "looks like one already in use"},
			{map[string]string{"email": "x@example.com", "username": "caro1"}, http.StatusConflict, "username", "looks like one already in use"},
			{map[string]string{"email": "саrol@example.com"}, http.StatusBadRequest, "email", "scripts"},
			{map[string]string{"email": "carol\u200b@example.com"}, http.StatusBadRequest, "email", "invisible"},
			{map[string]string{"email": "x@example.com", "username": "cаrol"}, http.StatusBadRequest, "username", "scripts"},
		} {
			res := post(c.body)
			if res.status != c.status {
				t.Errorf("POST %v: %s, want %d", c.body, res, c.status)
				continue
			}
			if p := res.problem(t); p["field"] != c.field || !strings.Contains(p["detail"].(string), c.says) {
				t.Errorf("POST %v: problem %v, want field %s saying %q", c.body, p, c.field, c.says)
			}
		}
		for _, email := range []string{"josé@example.com", "用户@example.com"} {
			if res := post(map[string]string{"email": email}); res.status != http.StatusCreated {
				t.Errorf("POST %s: %s", email, res)
			}
		}
	})
}
