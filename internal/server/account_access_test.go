package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// formActionRE finds a form's action (samlResponseRE is social_saml_test.go's).
var formActionRE = regexp.MustCompile(`<form[^>]* action="([^"]+)"`)

// TestAccountLauncher: a signed-in user sees the tenant's SAML apps (and
// not another tenant's); following an app's link ends in a SAML Response
// form posting to that app's ACS, for this user.
func TestAccountLauncher(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		sp := f.ta.samlSP(f.tn.ID, "https://wiki.example")
		other := f.ta.tenant("other")
		f.ta.samlSP(other.ID, "https://hidden.example")
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		p := b.get("/t/acme/account")
		launch := samlreg.LaunchPath("acme", sp.ID)
		for _, want := range []string{"My apps", "SP https://wiki.example", `href="` + launch + `"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("account page lacks %q", want)
			}
		}
		if strings.Contains(p.body, "hidden.example") {
			t.Error("the launcher lists another tenant's app")
		}
		// Follow the link as a browser would, redirect by redirect (bounded).
		next := launch
		for range 5 {
			p = b.get(next)
			if p.status != http.StatusFound && p.status != http.StatusSeeOther {
				break
			}
			next = p.location()
		}
		m := formActionRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || m == nil || html.UnescapeString(m[1]) != "https://wiki.example/acs" {
			t.Fatalf("launch ended at %d %q: %.400s", p.status, next, p.body)
		}
		resp := samlResponseRE.FindStringSubmatch(p.body)
		if resp == nil {
			t.Fatalf("no SAMLResponse in the form: %.400s", p.body)
		}
		raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(resp[1]))
		if err != nil {
			t.Fatal(err)
		}
		x := string(raw)
		if !strings.Contains(x, `Destination="https://wiki.example/acs"`) || !strings.Contains(x, "ada@example.com") ||
			!strings.Contains(x, "https://wiki.example</saml:Audience>") {
			t.Errorf("SAML Response is not for the app and Ada: %.600s", x)
		}
		// Signed out, the page (and so the launcher) is not shown.
		if p := f.ta.browser().get("/t/acme/account"); p.status != http.StatusFound || strings.Contains(p.body, "wiki.example") {
			t.Errorf("signed out: %d", p.status)
		}
	})
}

// rolesFixture: Ada holds "reader" (active by assignment), is eligible for
// "prod-admin" (approved by Bob, at most 2h) and "db-break" (self-activation
// after MFA); "bob-only" is Bob's alone.
type rolesFixture struct {
	*accountFixture
	reader, prod, mfa, bobOnly *store.Role
}

func newRolesFixture(t *testing.T, be backend) *rolesFixture {
	f := &rolesFixture{accountFixture: newAccountFixture(t, be)}
	ctx, az, tn := context.Background(), f.ta.Authz, f.tn.ID
	role := func(in authz.NewRole, holder string) *store.Role {
		t.Helper()
		r, err := az.CreateRole(ctx, testActor, tn, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := az.AssignUser(ctx, testActor, tn, holder, r.ID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	f.reader = role(authz.NewRole{Name: "reader", Description: "Reads the wiki", Permissions: []string{"wiki:read"}}, f.ada.ID)
	f.prod = role(authz.NewRole{Name: "prod-admin", Permissions: []string{"prod:*"}, Privileged: true, MaxDuration: "2h",
		Approvers: []string{f.bob.ID}}, f.ada.ID)
	f.mfa = role(authz.NewRole{Name: "db-break", Permissions: []string{"db:admin"}, Privileged: true, MaxDuration: "1h",
		Approval: store.ApprovalSelfMFA}, f.ada.ID)
	f.bobOnly = role(authz.NewRole{Name: "bob-only", Permissions: []string{"bob:*"}, Privileged: true, MaxDuration: "1h",
		Approvers: []string{f.ada.ID}}, f.bob.ID)
	return f
}

func (f *rolesFixture) elevations(t *testing.T) []store.Elevation {
	t.Helper()
	es, err := f.ta.Authz.ListElevations(context.Background(), f.tn.ID, store.ElevationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// section answers the part of the page from one id to the next of ends
// found after it.
func section(body, from string, ends ...string) string {
	i := strings.Index(body, `id="`+from+`"`)
	if i < 0 {
		return ""
	}
	for _, to := range ends {
		if j := strings.Index(body[i:], `id="`+to+`"`); j > 0 {
			return body[i : i+j]
		}
	}
	return ""
}

// TestAccountRoles: the roles section lists active and eligible roles,
// marks self-activation's MFA need, refuses hostile requests with a clear
// message and nothing stored, and a request shows up pending in the API;
// once approved there, the page shows the role active with its end.
func TestAccountRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newRolesFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		p := b.get("/t/acme/account")
		active, eligible := section(p.body, "roles-active", "roles-eligible", "h-export"), section(p.body, "roles-eligible", "h-export")
		if !strings.Contains(active, "reader") || !strings.Contains(active, "Reads the wiki") || strings.Contains(active, "prod-admin") {
			t.Errorf("active roles: %s", active)
		}
		for _, want := range []string{"prod-admin", "db-break", "Activates at once after a fresh sign-in", `value="` + f.prod.ID + `"`,
			`<option value="2h">`, "(MFA)"} {
			if !strings.Contains(eligible, want) {
				t.Errorf("eligible roles lack %q: %s", want, eligible)
			}
		}
		if strings.Contains(eligible, `<option value="4h">`) || strings.Contains(p.body, "bob-only") {
			t.Errorf("a choice past max_duration, or Bob's role, is offered: %s", eligible)
		}
		tok := b.csrf("/t/acme/account")
		auditBefore := f.ta.userAuditActions(f.tn.ID)["elevation.request"]

		for _, c := range []struct {
			name   string
			form   []string
			status int
			want   string
		}{
			{"no CSRF token", []string{"role", f.prod.ID, "reason", "fix", "duration", "1h"}, http.StatusForbidden, ""},
			{"not eligible", []string{"csrf", tok, "role", f.bobOnly.ID, "reason", "fix", "duration", "1h"}, http.StatusForbidden,
				"You cannot request this role."},
			{"unknown role", []string{"csrf", tok, "role", "0190aaaa-0000-7000-8000-000000000000", "reason", "fix", "duration", "1h"},
				http.StatusForbidden, "You cannot request this role."},
			{"not privileged", []string{"csrf", tok, "role", f.reader.ID, "reason", "fix", "duration", "1h"}, http.StatusForbidden,
				"You cannot request this role."},
			{"too long", []string{"csrf", tok, "role", f.prod.ID, "reason", "fix", "duration", "3h"}, http.StatusUnprocessableEntity,
				"longer than this role allows"},
			{"nonsense duration", []string{"csrf", tok, "role", f.prod.ID, "reason", "fix", "duration", "forever"},
				http.StatusUnprocessableEntity, "Choose a duration from the list."},
			{"no reason", []string{"csrf", tok, "role", f.prod.ID, "reason", "  ", "duration", "1h"}, http.StatusUnprocessableEntity,
				"Say why you need the role"},
			{"another user's id", []string{"csrf", tok, "role", f.prod.ID, "reason", "fix", "duration", "1h", "user_id", f.bob.ID},
				http.StatusBadRequest, "could not be read"},
			{"MFA needed", []string{"csrf", tok, "role", f.mfa.ID, "reason", "fix", "duration", "30m"}, http.StatusForbidden,
				"needs a fresh sign-in with a second factor"},
		} {
			p := b.post("/t/acme/account/elevations", form(c.form...))
			if p.status != c.status || !strings.Contains(p.body, c.want) {
				t.Errorf("%s: %d, want %d with %q: %.300s", c.name, p.status, c.status, c.want, section(p.body, "h-roles", "h-export"))
			}
		}
		if es := f.elevations(t); len(es) != 0 {
			t.Fatalf("hostile requests stored elevations: %+v", es)
		}
		if n := f.ta.userAuditActions(f.tn.ID)["elevation.request"]; n != auditBefore {
			t.Errorf("hostile requests audited as requests: %d", n)
		}
		// German refusal.
		if p := b.post("/t/acme/account/elevations?ui_locales=de", form("csrf", tok, "ui_locales", "de", "role", f.prod.ID,
			"reason", "fix", "duration", "3h")); !strings.Contains(p.body, "länger, als diese Rolle erlaubt") {
			t.Errorf("German refusal: %d", p.status)
		}

		p = b.post("/t/acme/account/elevations", form("csrf", tok, "role", f.prod.ID, "reason", "deploy hotfix", "duration", "1h"))
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "done=elevation_requested") {
			t.Fatalf("request: %d %q", p.status, p.location())
		}
		if p = b.get(p.location()); !strings.Contains(p.body, "sent for approval") || !strings.Contains(p.body, "waiting for approval") {
			t.Errorf("after the request: %.300s", section(p.body, "h-roles", "h-export"))
		}
		if n := f.ta.userAuditActions(f.tn.ID)["elevation.request"]; n != auditBefore+1 {
			t.Errorf("elevation.request audited %d times by the user, want %d", n-auditBefore, 1)
		}
		admin := "Bearer " + f.ta.key(f.tn.ID, "admin")
		res := f.ta.do(request{method: "GET", path: "/api/v1/tenants/acme/elevations?status=pending", auth: admin})
		var list struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if err := json.Unmarshal(res.body, &list); err != nil || res.status != http.StatusOK {
			t.Fatalf("list elevations: %s %v", res, err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("pending elevations: %s", res)
		}
		e := list.Items[0]
		if !strings.Contains(string(res.body), `"user_id":"`+f.ada.ID+`"`) || !strings.Contains(string(res.body), `"role_id":"`+f.prod.ID+`"`) ||
			!strings.Contains(string(res.body), `"reason":"deploy hotfix"`) || !strings.Contains(string(res.body), `"state":"pending"`) {
			t.Errorf("pending elevation: %s", res)
		}
		res = f.ta.do(request{method: "POST", path: "/api/v1/tenants/acme/elevations/" + e.ID + "/approve", auth: admin})
		if res.status != http.StatusOK {
			t.Fatalf("approve: %s", res)
		}
		var approved struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal(res.body, &approved); err != nil || approved.ExpiresAt.IsZero() {
			t.Fatalf("approved: %s %v", res, err)
		}
		p = b.get("/t/acme/account")
		active = section(p.body, "roles-active", "roles-eligible", "h-export")
		until := "Active until " + approved.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		if !strings.Contains(active, "prod-admin") || !strings.Contains(active, until) {
			t.Errorf("after approval, active roles lack prod-admin %q: %s", until, active)
		}
		if strings.Contains(section(p.body, "roles-eligible", "h-export"), "prod-admin") {
			t.Error("prod-admin still offered after approval")
		}

		// A fresh MFA login self-activates db-break at once, capped at 1h.
		sess, token, err := f.ta.Sessions.Create(context.Background(), f.tn.ID, f.ada.ID, []string{"pwd", "otp", "mfa"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		mb := f.ta.browser()
		u, _ := url.Parse(mb.base)
		mb.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gh_session_acme", Value: token, Path: "/"}})
		mtok := mb.csrf("/t/acme/account")
		if p := mb.post("/t/acme/account/elevations", form("csrf", mtok, "role", f.mfa.ID, "reason", "incident", "duration", "2h")); p.status != http.StatusUnprocessableEntity {
			t.Errorf("2h of a 1h role with MFA: %d", p.status)
		}
		p = mb.post("/t/acme/account/elevations", form("csrf", mtok, "role", f.mfa.ID, "reason", "incident", "duration", "30m"))
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "done=elevation_active") {
			t.Fatalf("self-activation with MFA (session %s): %d %q", sess.ID, p.status, p.location())
		}
		p = mb.get(p.location())
		if active = section(p.body, "roles-active", "roles-eligible", "h-export"); !strings.Contains(p.body, "The role is active now.") ||
			!strings.Contains(active, "db-break") {
			t.Errorf("after self-activation: %s", active)
		}
		if n := f.ta.userAuditActions(f.tn.ID)["elevation.self_activate"]; n != 1 {
			t.Errorf("elevation.self_activate audited %d times", n)
		}
	})
}
