package server

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// tenantRowsByTable counts, in every table of the database that has a
// tenant_id column (found here from the schema, independently of the code
// under test), the rows of tenant id; tables without any are left out.
func tenantRowsByTable(t *testing.T, ta *testApp, id store.TenantID) map[string]int {
	t.Helper()
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'tenant_id'`
	if ta.DB.Dialect() == "postgres" {
		q = `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id'`
	}
	rows, err := ta.DB.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 30 {
		t.Fatalf("only %d tables with tenant_id found: %v", len(tables), tables)
	}
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := ta.DB.SQL().QueryRow(`SELECT COUNT(*) FROM `+tb+` WHERE tenant_id = $1`, string(id)).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", tb, err)
		}
		if n > 0 {
			out[tb] = n
		}
	}
	var n int
	if err := ta.DB.SQL().QueryRow(`SELECT COUNT(*) FROM tenants WHERE id = $1`, string(id)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		out["tenants"] = n
	}
	return out
}

// patchStatus sets the tenant's status with key and answers the response.
func (ta *testApp) patchStatus(slug, key, status string) *response {
	ta.t.Helper()
	return ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + slug, auth: "Bearer " + key,
		body: map[string]any{"status": status}})
}

// TestTenantLifecycle: a tenant suspended refuses sign-ins with a page,
// tokens with 400 unauthorized_client and its own keys' writes with 403,
// while platform keys still manage it; resumed it works again; deleted it
// leaves the list and its issuer answers 404; restored it is back; deleted
// again and purged, no row of it remains in any table, and the purge is
// audited on the platform chain with its counts.
func TestTenantLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := context.Background()
		plat := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		tn := ta.tenant("acme")
		keep := ta.tenant("keep")
		ta.fixture(tn, 1)
		ta.fixture(keep, 2)
		own := ta.key(tn.ID, tenancy.ScopeAdmin)
		ta.userWithPassword(tn.ID, "ann@example.com", "correct horse battery")
		c, secret := ta.registered(tn.ID, oauthclient.NewClient{Name: "life"})
		cfg := ta.oauthConfig("acme", c, secret)
		cfg.Scopes = append(cfg.Scopes, "offline_access")
		tok := ta.userToken("acme", cfg, "ann@example.com", "correct horse battery")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token issued")
		}
		refresh := func() (int, map[string]any) {
			return ta.oauthCall("/t/acme/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, c.ID, secret)
		}

		// Suspended.
		if res := ta.patchStatus("acme", own, "suspended"); res.status != http.StatusForbidden {
			t.Fatalf("tenant key suspending its own tenant: %s, want 403", res)
		}
		res := ta.patchStatus("acme", plat, "suspended")
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"status":"suspended"`) {
			t.Fatalf("suspend: %s", res)
		}
		b := ta.browser()
		for lang, want := range map[string]string{"en": "suspended", "de": "ausgesetzt", "es": "suspendido"} {
			b.lang = lang
			p := b.get("/t/acme/account/login")
			if p.status != http.StatusForbidden || !strings.Contains(p.body, want) {
				t.Errorf("login page while suspended (%s): %d %.200s, want 403 naming the suspension", lang, p.status, p.body)
			}
		}
		b.lang = ""
		p := b.get(strings.TrimPrefix(cfg.AuthCodeURL("st"), ta.srv.URL))
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "suspended") {
			t.Errorf("authorize while suspended: %d %q", p.status, p.location())
		}
		status, body := refresh()
		if desc, _ := body["error_description"].(string); status != http.StatusBadRequest || body["error"] != "unauthorized_client" || !strings.Contains(desc, "suspended") {
			t.Errorf("refresh while suspended: %d %v, want 400 unauthorized_client naming the suspension", status, body)
		}
		if res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/groups", auth: "Bearer " + own,
			body: map[string]any{"name": "late"}}); res.status != http.StatusForbidden ||
			!strings.HasSuffix(res.problem(t)["type"].(string), "tenant-suspended") {
			t.Errorf("tenant key write while suspended: %s, want 403 tenant-suspended", res)
		}
		if res := ta.get("/api/v1/tenants/acme/users", own); res.status != http.StatusOK {
			t.Errorf("tenant key read while suspended: %s", res)
		}
		if res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/groups", auth: "Bearer " + plat,
			body: map[string]any{"name": "by-platform"}}); res.status != http.StatusCreated {
			t.Errorf("platform key write while suspended: %s", res)
		}
		if res := ta.get("/t/acme/.well-known/openid-configuration", ""); res.status != http.StatusOK {
			t.Errorf("discovery while suspended: %s", res)
		}

		// Resumed.
		if res := ta.patchStatus("acme", plat, "active"); res.status != http.StatusOK {
			t.Fatalf("resume: %s", res)
		}
		if status, body := refresh(); status != http.StatusOK {
			t.Errorf("refresh after resume: %d %v", status, body)
		}
		ta.userToken("acme", cfg, "ann@example.com", "correct horse battery")

		// Deleted, restored, deleted again.
		del := func() {
			t.Helper()
			if res := ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/acme", auth: "Bearer " + plat}); res.status != http.StatusNoContent {
				t.Fatalf("delete: %s", res)
			}
		}
		del()
		if res := ta.get("/api/v1/tenants", plat); strings.Contains(string(res.body), `"acme"`) || !strings.Contains(string(res.body), `"keep"`) {
			t.Errorf("tenant list after delete: %s", res)
		}
		if res := ta.get("/t/acme/.well-known/openid-configuration", ""); res.status != http.StatusNotFound {
			t.Errorf("issuer of a deleted tenant: %s, want 404", res)
		}
		if res := ta.get("/api/v1/tenants/acme/users", own); res.status != http.StatusNotFound {
			t.Errorf("own key of a deleted tenant: %s, want 404", res)
		}
		var got struct {
			Status  string `json:"status"`
			PurgeAt string `json:"purge_at"`
		}
		res = ta.get("/api/v1/tenants/acme", plat)
		if err := json.Unmarshal(res.body, &got); err != nil || got.Status != "deleted" || got.PurgeAt == "" {
			t.Errorf("deleted tenant seen by a platform key: %s", res)
		}
		res = ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/restore", auth: "Bearer " + plat})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"status":"active"`) {
			t.Fatalf("restore: %s", res)
		}
		if res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/restore", auth: "Bearer " + plat}); res.status != http.StatusConflict {
			t.Errorf("restore of an active tenant: %s, want 409", res)
		}
		if res := ta.get("/t/acme/.well-known/openid-configuration", ""); res.status != http.StatusOK {
			t.Errorf("issuer after restore: %s", res)
		}
		ta.userToken("acme", cfg, "ann@example.com", "correct horse battery")
		del()

		// Purged.
		before := tenantRowsByTable(t, ta, tn.ID)
		for _, tb := range []string{"users", "groups", "group_users", "clients", "sessions", "refresh_tokens",
			"audit_entries", "saml_sps", "connections", "roles", "proxy_apps", "auth_requests", "import_jobs", "one_time_tokens", "elevations", "user_identities", "api_keys", "signing_keys"} {
			if before[tb] == 0 {
				t.Errorf("the test made no row of %s: it would not show the purge removes them (%v)", tb, before)
			}
		}
		keepBefore := tenantRowsByTable(t, ta, keep.ID)
		counts, err := ta.Tenants.PurgeTenant(ctx, testActor, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if left := tenantRowsByTable(t, ta, tn.ID); len(left) != 0 {
			t.Errorf("rows of the purged tenant remain: %v", left)
		}
		if after := tenantRowsByTable(t, ta, keep.ID); len(after) != len(keepBefore) || after["users"] != keepBefore["users"] {
			t.Errorf("the other tenant's rows changed: %v, were %v", after, keepBefore)
		}
		for tb, n := range before {
			if counts[tb] != int64(n) {
				t.Errorf("purge counted %d rows of %s, there were %d", counts[tb], tb, n)
			}
		}
		var purge string
		if err := ta.DB.Audit().ScanAudit(ctx, store.PlatformTenant, func(e store.AuditEntry) error {
			if e.Action == "tenant.purge" && e.TargetID == string(tn.ID) {
				purge = string(e.Changes)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(purge, `"rows.users"`) || !strings.Contains(purge, `"rows.audit_entries"`) {
			t.Errorf("platform audit of the purge: %q, want counts per table", purge)
		}
	})
}

// TestTenantExportImport: a tenant exported with every row and imported
// into a fresh database of a deployment with the same master key is the
// same tenant: its users sign in with their passwords, its clients still
// authenticate with their secrets, its rows are all there. A deployment
// with another master key refuses the file and changes nothing.
func TestTenantExportImport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		cfg := testConfig(t, be.db(t))
		src := openApp(t, cfg)
		tn := src.tenant("acme")
		src.fixture(tn, 1)
		src.userWithPassword(tn.ID, "ann@example.com", "correct horse battery")
		c, secret := src.registered(tn.ID, oauthclient.NewClient{Name: "moved"})
		src.userToken("acme", src.oauthConfig("acme", c, secret), "ann@example.com", "correct horse battery")
		var file strings.Builder
		n, err := src.Tenants.ExportTenant(ctx, testActor, tn.ID, &file)
		if err != nil {
			t.Fatal(err)
		}
		rows := tenantRowsByTable(t, src, tn.ID)
		total := 0
		for _, k := range rows {
			total += k
		}
		if n != total {
			t.Errorf("exported %d rows, the tenant has %d (%v)", n, total, rows)
		}

		other := testConfig(t, be.db(t))
		stranger := openApp(t, other)
		if _, _, err := stranger.Tenants.ImportTenant(ctx, testActor, strings.NewReader(file.String())); !errors.Is(err, tenancy.ErrKeyMismatch) {
			t.Errorf("import under another master key: %v, want ErrKeyMismatch", err)
		}
		if left := tenantRowsByTable(t, stranger, tn.ID); len(left) != 0 {
			t.Errorf("a refused import left rows: %v", left)
		}

		same := testConfig(t, be.db(t))
		same.MasterKey = cfg.MasterKey
		dst := openApp(t, same)
		got, m, err := dst.Tenants.ImportTenant(ctx, testActor, strings.NewReader(file.String()))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tn.ID || got.Slug != "acme" || m != n {
			t.Errorf("imported %+v with %d rows, want %s with %d", got, m, tn.ID, n)
		}
		if moved := tenantRowsByTable(t, dst, tn.ID); !maps.Equal(moved, rows) {
			t.Errorf("rows after import %v, want %v", moved, rows)
		}
		if !dst.browser().passwordSignIn("acme", "ann@example.com", "correct horse battery") {
			t.Error("an imported user cannot sign in with their password")
		}
		if dst.browser().passwordSignIn("acme", "ann@example.com", "wrong horse battery") {
			t.Error("an imported user signs in with a wrong password")
		}
		dst.userToken("acme", dst.oauthConfig("acme", c, secret), "ann@example.com", "correct horse battery")
		if res, err := events.Verify(ctx, dst.DB.Audit(), tn.ID); err != nil || !res.Intact {
			t.Errorf("the imported tenant's audit chain: %+v, %v", res, err)
		}
		if _, _, err := dst.Tenants.ImportTenant(ctx, testActor, strings.NewReader(file.String())); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second import: %v, want ErrConflict", err)
		}
	})
}
