package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/configcode"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// configResult is the answer of the config routes.
type configResult struct {
	Changes int             `json:"changes"`
	Plan    configcode.Plan `json:"plan"`
}

// config posts files to /api/v1/config/{op} with a platform key.
func (ta *testApp) config(op, token string, body map[string]any) (*response, configResult) {
	ta.t.Helper()
	res := ta.do(request{method: http.MethodPost, path: "/api/v1/config/" + op, auth: "Bearer " + token, body: body})
	var out configResult
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &out); err != nil {
			ta.t.Fatalf("config %s: %v: %s", op, err, res.body)
		}
	}
	return res, out
}

func configFiles(content string) map[string]any {
	return map[string]any{"files": []map[string]string{{"name": "acme.yaml", "content": content}}}
}

// mustAPI answers the decoded body of a call that must succeed.
func (ta *testApp) mustAPI(method, path, token string, body any) map[string]any {
	ta.t.Helper()
	res := ta.do(request{method: method, path: path, auth: "Bearer " + token, body: body})
	if res.status/100 != 2 {
		ta.t.Fatalf("%s %s: %s", method, path, res)
	}
	var out map[string]any
	_ = json.Unmarshal(res.body, &out)
	return out
}

// apiTenant builds tenant acme through the management API: settings, two
// clients, a SAML provider, a Google and an OIDC connection (the Google
// secret set through the API), two roles and a group.
func (ta *testApp) apiTenant(platform string) *store.Tenant {
	ta.t.Helper()
	ta.mustAPI("POST", "/api/v1/tenants", platform, map[string]string{"slug": "acme", "name": "Acme"})
	tp := "/api/v1/tenants/acme"
	ta.mustAPI("PATCH", tp, platform, map[string]any{"settings": map[string]any{
		"mfa": map[string]any{"policy": "required"}, "branding": map[string]any{"primary_color": "#0055aa"}}})
	web := ta.mustAPI("POST", tp+"/clients", platform, map[string]any{"name": "web",
		"redirect_uris": []string{"https://app.acme.example/cb"}})
	ta.mustAPI("PATCH", tp, platform, map[string]any{"settings": map[string]any{
		"mfa": map[string]any{"clients": map[string]string{web["client_id"].(string): "passkeys_only"}}}})
	ta.mustAPI("POST", tp+"/clients", platform, map[string]any{"name": "spa", "public": true,
		"redirect_uris": []string{"https://spa.acme.example/cb"}})
	ta.mustAPI("POST", tp+"/saml/sps", platform, map[string]any{"entity_id": "https://wiki.acme.example/saml",
		"name": "Wiki", "acs": []map[string]any{{"location": "https://wiki.acme.example/saml/acs"}}})
	ta.mustAPI("POST", tp+"/connections", platform, map[string]any{"type": "google", "name": "google",
		"client_id": "123.apps.googleusercontent.com", "client_secret": "api-set-google-secret"})
	ta.mustAPI("POST", tp+"/connections", platform, map[string]any{"type": "oidc", "name": "corp",
		"issuer": "https://login.corp.example", "client_id": "gatehouse", "client_secret": "api-set-corp-secret"})
	ta.mustAPI("POST", tp+"/roles", platform, map[string]any{"name": "billing",
		"permissions": []string{"invoices:read", "invoices:approve"}, "application": web["client_id"]})
	ta.mustAPI("POST", tp+"/roles", platform, map[string]any{"name": "viewer", "permissions": []string{"reports:read"}})
	ta.mustAPI("POST", tp+"/groups", platform, map[string]any{"name": "staff", "description": "Everyone"})
	t, err := ta.Tenants.Resolve(ta.t.Context(), "acme")
	if err != nil {
		ta.t.Fatal(err)
	}
	return t
}

func (ta *testApp) export(slug string) string {
	ta.t.Helper()
	b, err := configcode.Export(ta.t.Context(), ta.ConfigCode(), slug)
	if err != nil {
		ta.t.Fatalf("Export(%s): %v", slug, err)
	}
	return string(b)
}

// fieldsOf lists a plan's changes as "kind key field" strings.
func planLines(p configcode.Plan) []string {
	var out []string
	for _, t := range p.Tenants {
		for _, c := range t.Changes {
			if len(c.Fields) == 0 || c.Action != configcode.ActionUpdate {
				out = append(out, c.Action+" "+c.Kind+" "+c.Key)
			}
			for _, f := range c.Fields {
				if c.Action == configcode.ActionUpdate {
					out = append(out, c.Action+" "+c.Kind+" "+c.Key+" "+f.Field)
				}
			}
		}
	}
	return out
}

// TestConfigExportPlanApply: a tenant built through the API exports to a
// file whose plan is empty; one redirect URI and one role permission
// changed plan exactly those two changes, apply them (audited as config
// apply with the source), and a second apply plans nothing.
func TestConfigExportPlanApply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)

		exported := ta.export("acme")
		if strings.Contains(exported, "api-set-google-secret") ||
			regexp.MustCompile(`(?m)^\s+client_secret:`).MatchString(exported) {
			t.Fatalf("the export shows a secret set through the API:\n%s", exported)
		}
		if !strings.Contains(exported, "        clients:\n          web: passkeys_only\n") {
			t.Errorf("the export does not name the client of the MFA policy:\n%s", exported)
		}
		res, out := ta.config("plan", platform, configFiles(exported))
		if res.status != http.StatusOK || out.Changes != 0 {
			t.Fatalf("plan of the export: %s", res)
		}

		changed := strings.Replace(exported, "https://app.acme.example/cb", "https://app.acme.example/callback", 1)
		changed = strings.Replace(changed, "- reports:read", "- reports:export", 1)
		if changed == exported {
			t.Fatal("the edit changed nothing")
		}
		res, out = ta.config("plan", platform, configFiles(changed))
		want := []string{"update client web redirect_uris", "update role viewer permissions"}
		if got := planLines(out.Plan); out.Changes != 2 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("plan of two edits = %v (%d changes), want %v: %s", got, out.Changes, want, res)
		}
		body := configFiles(changed)
		body["source"] = "0123abcd"
		if res, out = ta.config("apply", platform, body); res.status != http.StatusOK || out.Changes != 2 {
			t.Fatalf("apply: %s", res)
		}
		web, viewer := out.Plan.Tenants[0].Changes[0].ID, out.Plan.Tenants[0].Changes[1].ID
		cl, err := ta.Clients.GetClient(t.Context(), tn.ID, web)
		if err != nil || strings.Join(cl.RedirectURIs, ",") != "https://app.acme.example/callback" {
			t.Errorf("client after apply: %+v, %v", cl, err)
		}
		role, err := ta.Authz.GetRole(t.Context(), tn.ID, viewer)
		if err != nil || strings.Join(role.Permissions, ",") != "reports:export" {
			t.Errorf("role after apply: %+v, %v", role, err)
		}
		entries, err := ta.DB.Audit().ListAudit(t.Context(), tn.ID, store.AuditQuery{Limit: 1000})
		var applied []string
		for _, e := range entries {
			if e.ActorType == "config" && strings.HasPrefix(e.ActorID, "config apply 0123abcd (api key ") {
				applied = append(applied, e.Action)
			}
		}
		if err != nil || strings.Join(applied, ",") != "role.update,client.update" {
			t.Errorf("audit of the apply: %v, %v", applied, err)
		}

		for i := range 2 {
			res, out = ta.config([]string{"apply", "plan"}[i], platform, configFiles(changed))
			if res.status != http.StatusOK || out.Changes != 0 {
				t.Errorf("second %s: %s", []string{"apply", "plan"}[i], res)
			}
		}
	})
}

// TestConfigPrune: a client the file does not declare is kept (and
// listed as kept) without prune, and deleted with it.
func TestConfigPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)
		file := "tenants:\n  - slug: acme\n    clients:\n      - name: web\n"

		for _, op := range []string{"plan", "apply"} {
			res, out := ta.config(op, platform, configFiles(file))
			if res.status != http.StatusOK || out.Changes != 0 || strings.Join(out.Plan.Tenants[0].Kept, ",") != "client spa" {
				t.Fatalf("%s without prune: %s", op, res)
			}
		}
		if cs, _ := ta.Clients.ListClients(t.Context(), tn.ID, store.Page{}); len(cs) != 2 {
			t.Fatalf("clients after apply without prune: %d, want 2", len(cs))
		}
		body := configFiles(file)
		body["prune"] = true
		res, out := ta.config("plan", platform, body)
		if got := planLines(out.Plan); len(got) != 1 || got[0] != "delete client spa" {
			t.Fatalf("plan with prune = %v: %s", got, res)
		}
		if res, out = ta.config("apply", platform, body); res.status != http.StatusOK || out.Changes != 1 {
			t.Fatalf("apply with prune: %s", res)
		}
		cs, _ := ta.Clients.ListClients(t.Context(), tn.ID, store.Page{})
		if len(cs) != 1 || cs[0].Name != "web" {
			t.Fatalf("clients after prune: %+v", cs)
		}
		// Roles were not declared: prune leaves that kind alone (and the
		// built-in console roles are never configuration).
		if rs, _ := ta.Authz.ListRoles(t.Context(), tn.ID, "", store.Page{}); len(rs) != 2+len(authz.BuiltinRoles) {
			t.Errorf("roles after a prune of clients: %d, want 2 and the built-in ones", len(rs))
		}
	})
}

// TestConfigInvalidFile: a file with many defects answers every one with
// its line and key, and changes nothing, even where only the services
// find the problem.
func TestConfigInvalidFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)
		before, _ := ta.DB.Audit().ListAudit(t.Context(), tn.ID, store.AuditQuery{Limit: 1000})

		shape := `tenants:
  - slug: acme
    webhooks: []
    clients:
      - name: web
        redirect_uri: https://typo.example/cb
      - name: web
      - name: api
        access_token_ttl: soon
    connections:
      - name: corp
        type: oidc
        client_secret: plain-text-secret
`
		res, _ := ta.config("plan", platform, configFiles(shape))
		wantLines(t, res, []string{
			"acme.yaml:3: tenants[acme].webhooks: unknown key (not in the format yet",
			"acme.yaml:6: tenants[acme].clients[web].redirect_uri: unknown key",
			"acme.yaml:9: tenants[acme].clients[api].access_token_ttl: a whole number",
			"acme.yaml:7: tenants[acme].clients[web]: declared twice (first at line 5)",
			"acme.yaml:13: tenants[acme].connections[corp].client_secret: a secret is never written in a file",
		})
		if strings.Contains(string(res.body), "plain-text-secret") {
			t.Errorf("the answer echoes the secret: %s", res.body)
		}

		// Well formed, but refused by the services: every refusal, and the
		// valid changes before them are rolled back.
		semantic := `tenants:
  - slug: acme
    settings:
      mfa:
        policy: sometimes
        clients: {web: required, nope: required}
    clients:
      - name: web
        redirect_uris: [https://app.acme.example/cb#fragment]
      - name: new-app
        redirect_uris: [https://new.acme.example/cb]
      - name: other
        grant_types: [password]
    roles:
      - name: viewer
        permissions: ["has spaces"]
  - slug: newco
    clients:
      - name: portal
        redirect_uris: [https://portal.newco.example/cb]
`
		for _, op := range []string{"plan", "apply"} {
			res, _ := ta.config(op, platform, configFiles(semantic))
			wantLines(t, res, []string{
				"acme.yaml:9: tenants[acme].clients[web].redirect_uris:",
				"acme.yaml:13: tenants[acme].clients[other].grant_types:",
				"acme.yaml:16: tenants[acme].roles[viewer].permissions:",
				"acme.yaml:3: tenants[acme].settings.mfa.policy:",
				"acme.yaml:3: tenants[acme].settings.mfa.clients.nope: no client or group of this tenant has this name",
				"acme.yaml:17: tenants[newco].name: A tenant needs a name.",
			})
		}
		after, _ := ta.DB.Audit().ListAudit(t.Context(), tn.ID, store.AuditQuery{Limit: 1000})
		if len(after) != len(before) {
			t.Errorf("audit entries %d -> %d: an invalid file changed something", len(before), len(after))
		}
		if cs, _ := ta.Clients.ListClients(t.Context(), tn.ID, store.Page{}); len(cs) != 2 {
			t.Errorf("clients after an invalid apply: %d, want 2", len(cs))
		}
	})
}

// wantLines checks a 400 lists each problem (by prefix of its message).
func wantLines(t *testing.T, res *response, want []string) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", res.status, res)
	}
	var p struct {
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		found := false
		for _, e := range p.Errors {
			found = found || strings.HasPrefix(e.Message, w)
		}
		if !found {
			t.Errorf("no problem %q in %s", w, res.body)
		}
	}
	if len(p.Errors) != len(want) {
		t.Errorf("%d problems, want %d: %s", len(p.Errors), len(want), res.body)
	}
}

// TestConfigSecretReference: a connection's secret comes from a
// reference resolved at apply time; the export shows the reference, and
// neither the answers nor the audit log ever hold the value. An
// unresolvable reference fails and changes nothing.
func TestConfigSecretReference(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)
		file := `tenants:
  - slug: acme
    connections:
      - name: google
        type: google
        client_id: 123.apps.googleusercontent.com
        client_secret: ${env:ACME_GOOGLE_SECRET}
`
		missing, _ := ta.config("apply", platform, configFiles(file))
		wantLines(t, missing, []string{"acme.yaml:7: tenants[acme].connections[google].client_secret: ${env:ACME_GOOGLE_SECRET}: the environment variable is not set"})

		const value = "from-the-environment-7f3a"
		body := configFiles(file)
		body["secrets"] = map[string]string{"ACME_GOOGLE_SECRET": value}
		res, out := ta.config("apply", platform, body)
		if res.status != http.StatusOK || out.Changes != 1 || strings.Contains(string(res.body), value) {
			t.Fatalf("apply: %s", res)
		}
		conn, err := ta.Connections.ByName(t.Context(), tn.ID, "google")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ta.Connections.Secret(conn); err != nil || got != value {
			t.Fatalf("stored secret = %q, %v", got, err)
		}
		if exported := ta.export("acme"); strings.Contains(exported, value) ||
			!regexp.MustCompile(`client_secret: \$\{env:ACME_GOOGLE_SECRET\}`).MatchString(exported) {
			t.Errorf("export:\n%s", exported)
		}
		entries, err := ta.DB.Audit().ListAudit(t.Context(), tn.ID, store.AuditQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(string(e.Changes), value) {
				t.Errorf("audit entry %s holds the secret: %s", e.Action, e.Changes)
			}
		}
		if _, out = ta.config("plan", platform, body); out.Changes != 0 {
			t.Errorf("plan after apply: %+v", out.Plan)
		}
		body["secrets"] = map[string]string{"ACME_GOOGLE_SECRET": "rotated-upstream-secret"}
		res, out = ta.config("plan", platform, body)
		if got := planLines(out.Plan); len(got) != 1 || got[0] != "update connection google client_secret" ||
			strings.Contains(string(res.body), "rotated-upstream-secret") {
			t.Errorf("plan of a new secret value = %v: %s", got, res.body)
		}

		// A secret set through the API is no longer the reference's: the
		// export leaves it out, and a file that does not name it plans
		// nothing about it.
		ta.mustAPI("PATCH", "/api/v1/tenants/acme/connections/"+conn.ID, platform, map[string]string{"client_secret": "set-in-the-console"})
		if exported := ta.export("acme"); regexp.MustCompile(`(?m)^\s+client_secret:`).MatchString(exported) {
			t.Errorf("export after an API secret change:\n%s", exported)
		}
		noSecret := strings.Replace(file, "        client_secret: ${env:ACME_GOOGLE_SECRET}\n", "", 1)
		if res, out = ta.config("plan", platform, configFiles(noSecret)); res.status != http.StatusOK || out.Changes != 0 {
			t.Errorf("plan of a file without the secret: %s", res)
		}
	})
}

// TestConfigApplyThousands measures an apply of 1,000 clients and 1,000
// roles on SQLite (set GATEHOUSE_BENCH_CONFIG=1): under 5 seconds from
// reading the file to the commit, and a second plan finds nothing.
func TestConfigApplyThousands(t *testing.T) {
	if os.Getenv("GATEHOUSE_BENCH_CONFIG") == "" {
		t.Skip("set GATEHOUSE_BENCH_CONFIG=1 to measure")
	}
	ta := newTestApp(t, backends[0])
	var b strings.Builder
	b.WriteString("tenants:\n  - slug: big\n    name: Big\n    clients:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "      - name: app-%04d\n        redirect_uris: [https://app%d.example.com/cb]\n", i, i)
	}
	b.WriteString("    roles:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "      - name: role-%04d\n        permissions: [res%d:read, res%d:write]\n        application: app-%04d\n", i, i, i, i)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opt := configcode.Options{Actor: configcode.ApplyActor("bench", "")}
	start := time.Now()
	cfg, err := configcode.LoadPaths([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := configcode.Apply(t.Context(), ta.ConfigCode(), cfg, opt)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := plan.Count(); c != 2001 {
		t.Fatalf("created %d objects, want 2001", c)
	}
	t.Logf("apply of 1,000 clients and 1,000 roles: %v", took)
	if took > 5*time.Second {
		t.Errorf("apply took %v, want under 5s", took)
	}
	start = time.Now()
	again, err := configcode.MakePlan(t.Context(), ta.ConfigCode(), cfg, opt)
	if err != nil || !again.Empty() {
		t.Fatalf("second plan: %v, empty %v", err, again != nil && again.Empty())
	}
	t.Logf("plan of the same file afterwards (no changes): %v", time.Since(start))
}

// TestConfigDocsExample: the realistic tenant of docs/config-as-code.md
// applies on a fresh installation, and applying it again plans nothing
// (what the services fill in, such as SAML ACS indexes, is no change).
func TestConfigDocsExample(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		b, err := os.ReadFile("testdata/config-acme.yaml")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := configcode.Load([]configcode.Source{{Name: "acme.yaml", Data: b}})
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"ACME_GOOGLE_SECRET": "g", "PARTNER_SSO_SECRET": "p"}
		opt := configcode.Options{Actor: configcode.ApplyActor("docs", ""), Resolver: configcode.Resolver{
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}}
		plan, err := configcode.Apply(t.Context(), ta.ConfigCode(), cfg, opt)
		if err != nil {
			t.Fatal(err)
		}
		if c, u, d := plan.Count(); c != 10 || u != 1 || d != 0 {
			t.Errorf("first apply: %d created, %d changed, %d deleted; want 10, 1, 0", c, u, d)
		}
		tn, err := ta.Tenants.Resolve(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		set, _ := tenancy.ParseSettings(tn.Settings)
		spa, _ := ta.Clients.ListClients(t.Context(), tn.ID, store.Page{})
		groups, _ := ta.Directory.ListGroups(t.Context(), tn.ID, store.Page{})
		if len(spa) != 2 || len(groups) != 1 || set.MFA.Clients[spa[1].ID] != "passkeys_only" ||
			set.MFA.Groups[groups[0].ID] != "passkeys_only" {
			t.Errorf("the MFA policy is not stored by id: %+v", set.MFA)
		}
		again, err := configcode.MakePlan(t.Context(), ta.ConfigCode(), cfg, opt)
		if err != nil || !again.Empty() {
			var sb strings.Builder
			if again != nil {
				again.Write(&sb)
			}
			t.Errorf("second plan: %v\n%s", err, sb.String())
		}
	})
}

// TestConfigGroupMembers: members, when a group lists them, are its whole
// list of user members by email; an unknown email is a problem.
func TestConfigGroupMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)
		ann, bob := ta.user(tn.ID, "ann@acme.example"), ta.user(tn.ID, "bob@acme.example")
		staff, err := ta.Directory.ListGroups(t.Context(), tn.ID, store.Page{})
		if err != nil || len(staff) != 1 {
			t.Fatalf("groups: %v %v", staff, err)
		}
		ta.addMember(tn.ID, staff[0].ID, bob.ID)
		file := "tenants:\n  - slug: acme\n    groups:\n      - name: staff\n        members: [ann@acme.example]\n"
		res, out := ta.config("apply", platform, configFiles(file))
		if got := planLines(out.Plan); res.status != http.StatusOK || len(got) != 1 || got[0] != "update group staff members" {
			t.Fatalf("apply members = %v: %s", got, res)
		}
		ms, _ := ta.Directory.ListMembers(t.Context(), tn.ID, staff[0].ID, store.Page{})
		if len(ms) != 1 || ms[0].ID != ann.ID {
			t.Errorf("members after apply: %+v", ms)
		}
		if _, out = ta.config("plan", platform, configFiles(file)); out.Changes != 0 {
			t.Errorf("second plan: %+v", out.Plan)
		}
		// Order and case of the emails are no change.
		ta.addMember(tn.ID, staff[0].ID, bob.ID)
		both := strings.Replace(file, "[ann@acme.example]", "[Bob@Acme.example, ann@acme.example]", 1)
		if res, out = ta.config("plan", platform, configFiles(both)); out.Changes != 0 {
			t.Errorf("plan of the same members in another order and case: %s", res)
		}
		unknown := strings.Replace(file, "[ann@acme.example]", "[ann@acme.example, nobody@acme.example]", 1)
		res, _ = ta.config("apply", platform, configFiles(unknown))
		wantLines(t, res, []string{"acme.yaml:5: tenants[acme].groups[staff].members: no user of this tenant has the email \"nobody@acme.example\""})
	})
}

// TestConfigGroupMemberLookalike: a member is the account with exactly the
// email the file names; an account whose address only looks like it (equal
// confusable skeletons) is not made a member in its place.
func TestConfigGroupMemberLookalike(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		tn := ta.apiTenant(platform)
		ta.user(tn.ID, "ann@acme.example")
		mallory := ta.user(tn.ID, "bi11@acme.example") // looks like bill@acme.example
		staff, err := ta.Directory.ListGroups(t.Context(), tn.ID, store.Page{})
		if err != nil || len(staff) != 1 {
			t.Fatalf("groups: %v %v", staff, err)
		}
		file := "tenants:\n  - slug: acme\n    groups:\n      - name: staff\n        members: [ann@acme.example, bill@acme.example]\n"
		res, _ := ta.config("apply", platform, configFiles(file))
		wantLines(t, res, []string{"acme.yaml:5: tenants[acme].groups[staff].members: no user of this tenant has the email \"bill@acme.example\""})
		ms, _ := ta.Directory.ListMembers(t.Context(), tn.ID, staff[0].ID, store.Page{})
		for _, m := range ms {
			if m.ID == mallory.ID {
				t.Fatalf("the look-alike account was made a member: %+v", ms)
			}
		}
	})
}
