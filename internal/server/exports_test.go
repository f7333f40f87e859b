package server

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
)

// exportTOTP is the seed one exported user has enrolled; no export may
// carry it.
const exportTOTP = "JBSWY3DPEHPK3PXP"

// exportSource fills tenant slug with the foreign-hash users of
// foreignUsers and three more with groups, roles, attributes, times, a
// TOTP seed and a disabled status; it answers the passwords by email.
func (ta *testApp) exportSource(tn *store.Tenant) map[string]string {
	ta.t.Helper()
	jsonl, passwords, _ := foreignUsers(ta.t)
	jsonl += `{"external_id":"crm-1","email":"ada@example.com","email_verified":true,"username":"ada","given_name":"Ada","family_name":"Lovelace","phone":"+441234567890","groups":["staff","engineering"],"roles":["editor"],"created_at":"2019-05-06T07:08:09Z","last_login_at":"2024-01-02T03:04:05Z","attributes":{"dept":"R&D"},"totp_secret":"` + exportTOTP + `"}
{"external_id":"crm-2","email":"bob@example.com","groups":["staff"],"disabled":true}
{"external_id":"crm-3","email":"cy@example.com","email_verified":true,"roles":["editor"]}
`
	src, err := userimport.NewSource("jsonl", strings.NewReader(jsonl), userimport.Options{})
	if err != nil {
		ta.t.Fatal(err)
	}
	job, err := ta.Importer.Run(ta.t.Context(), testActor, userimport.Spec{Tenant: tn.ID, Format: "jsonl", Digest: "export-source"}, src, nil)
	if err != nil || job.Failed != 0 {
		ta.t.Fatalf("source import: %+v, %v", job, err)
	}
	return passwords
}

// userSnapshot answers every user of tenant as one comparable line by
// email, read from the store (not through the Exporter): with full, also
// what only JSONL carries (attributes, status).
func (ta *testApp) userSnapshot(tn store.TenantID, full bool) map[string]string {
	ta.t.Helper()
	ctx := ta.t.Context()
	users, err := ta.DB.Users().SearchUsers(ctx, tn, store.UserQuery{Page: store.Page{Limit: 1000}})
	if err != nil {
		ta.t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range users {
		var groups, roles []string
		gs, err := ta.DB.Groups().UserGroups(ctx, tn, u.ID, false)
		if err != nil {
			ta.t.Fatal(err)
		}
		for _, g := range gs {
			groups = append(groups, g.Name)
		}
		as, err := ta.DB.Authz().Roles().ListAssignments(ctx, tn, store.AssignmentQuery{UserID: u.ID, Page: store.Page{Limit: 100}})
		if err != nil {
			ta.t.Fatal(err)
		}
		for _, a := range as {
			r, err := ta.DB.Authz().Roles().GetRole(ctx, tn, a.RoleID)
			if err != nil {
				ta.t.Fatal(err)
			}
			roles = append(roles, r.Name)
		}
		slices.Sort(groups)
		slices.Sort(roles)
		last := ""
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.UTC().Format("2006-01-02T15:04:05.999999")
		}
		s := fmt.Sprint(u.EmailVerified, u.Username, u.GivenName, u.FamilyName, u.Phone, u.PasswordHash,
			u.CreatedAt.UTC().Format("2006-01-02T15:04:05.999999"), last, groups, roles)
		if full {
			s += fmt.Sprint(" ", u.Status, string(u.Attributes))
		}
		out[u.Email] = s
	}
	return out
}

// sortedLines answers body's lines sorted, a CSV header kept first.
func sortedLines(body []byte, header bool) []string {
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if header {
		slices.Sort(lines[1:])
	} else {
		slices.Sort(lines)
	}
	return lines
}

// TestUsersExportAPI: GET .../users/export streams the tenant's users as
// a download that POST .../imports takes into another tenant, giving the
// same users; hashes go out only to a platform key, TOTP seeds never;
// every export is audited with the key as actor; refusals export nothing.
func TestUsersExportAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := t.Context()
		src, toJSONL, toCSV := ta.tenant("leaving"), ta.tenant("arriving-jsonl"), ta.tenant("arriving-csv")
		platformID, platform := ta.keyWithID(store.PlatformTenant, "admin")
		adminID, admin := ta.keyWithID(src.ID, "admin")
		for _, tn := range []*store.Tenant{src, toJSONL, toCSV} {
			ta.mustAPI("POST", "/api/v1/tenants/"+tn.Slug+"/roles", platform,
				map[string]any{"name": "editor", "permissions": []string{"docs:edit"}})
		}
		passwords := ta.exportSource(src)
		want := ta.userSnapshot(src.ID, true)
		export := func(token, query string) *response {
			t.Helper()
			return ta.get("/api/v1/tenants/leaving/users/export?"+query, token)
		}

		// A tenant without users gets an empty file.
		empty := ta.get("/api/v1/tenants/arriving-jsonl/users/export", platform)
		if empty.status != http.StatusOK || len(empty.body) != 0 || empty.header.Get("Content-Type") != "application/x-ndjson" ||
			empty.header.Get("Content-Disposition") != `attachment; filename="users-arriving-jsonl.jsonl"` {
			t.Errorf("export of an empty tenant: %s %v", empty, empty.header)
		}

		// A tenant admin key: no hashes, no seeds.
		plain := export(admin, "format=jsonl")
		if plain.status != http.StatusOK || plain.header.Get("Content-Type") != "application/x-ndjson" ||
			!strings.HasPrefix(plain.header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("export as tenant admin: %s %v", plain, plain.header)
		}
		lines := strings.Split(strings.TrimSpace(string(plain.body)), "\n")
		if len(lines) != len(want) {
			t.Fatalf("export has %d lines, tenant %d users", len(lines), len(want))
		}
		for _, l := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["external_id"] == "" || rec["email"] == "" {
				t.Fatalf("line %q: %v", l, err)
			}
			if _, ok := rec["password_hash"]; ok {
				t.Errorf("tenant key got a hash: %s", l)
			}
		}

		// A tenant key asking for hashes is refused, and says why.
		res := export(admin, "format=jsonl&include_hashes=true")
		if p := res.problem(t); res.status != http.StatusForbidden || !strings.Contains(fmt.Sprint(p["detail"]), "platform API key") {
			t.Errorf("tenant key with include_hashes: %s", res)
		}
		for _, q := range []string{"format=xml", "format=auth0", "format=jsonl&include_hashes=yes"} {
			if res := export(platform, q); res.status != http.StatusBadRequest {
				t.Errorf("%s: %s, want 400", q, res)
			} else {
				res.problem(t)
			}
		}

		// A platform key gets hashes, in either format.
		withHashes := export(platform, "format=jsonl&include_hashes=true")
		csvHashes := export(platform, "format=csv&include_hashes=true")
		csvPlain := export(platform, "format=csv")
		if withHashes.status != http.StatusOK || csvHashes.status != http.StatusOK || csvPlain.status != http.StatusOK ||
			csvHashes.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("platform exports: %s / %s / %s", withHashes, csvHashes, csvPlain)
		}
		rows, err := csv.NewReader(strings.NewReader(string(csvPlain.body))).ReadAll()
		if err != nil || !slices.Equal(rows[0], userimport.ExportColumns) || len(rows) != len(want)+1 {
			t.Fatalf("CSV export: %v, %v", rows, err)
		}
		for _, r := range rows[1:] {
			if r[7] != "" {
				t.Errorf("CSV without include_hashes carries a hash: %v", r)
			}
		}
		for email := range passwords {
			u, err := ta.DB.Users().GetUserByEmail(ctx, src.ID, email)
			if err != nil {
				t.Fatal(err)
			}
			for name, res := range map[string]*response{"jsonl": withHashes, "csv": csvHashes} {
				if !strings.Contains(string(res.body), u.PasswordHash) {
					t.Errorf("%s export with hashes lacks %s's", name, email)
				}
			}
		}
		for _, res := range []*response{plain, withHashes, csvHashes, csvPlain} {
			if strings.Contains(string(res.body), exportTOTP) || strings.Contains(string(res.body), "totp") {
				t.Errorf("an export carries the TOTP seed: %.300s", res.body)
			}
		}

		// Every export that went out is audited, with the key as actor;
		// the refusals are not.
		entries, err := ta.DB.Audit().ListAudit(ctx, src.ID, store.AuditQuery{Action: "users.export", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			var ch map[string]struct{ After any }
			if err := json.Unmarshal(e.Changes, &ch); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(e.ActorType, " ", e.ActorID, " ", ch["format"].After, " ", ch["include_hashes"].After))
		}
		slices.Sort(got)
		wantAudit := []string{"apikey " + adminID + " jsonl false", "apikey " + platformID + " csv false",
			"apikey " + platformID + " csv true", "apikey " + platformID + " jsonl true"}
		slices.Sort(wantAudit)
		if !slices.Equal(got, wantAudit) {
			t.Errorf("audit entries %v, want %v", got, wantAudit)
		}

		// Each file imports into another tenant as the same users.
		for _, c := range []struct {
			tn     *store.Tenant
			format string
			file   *response
		}{{toJSONL, "jsonl", withHashes}, {toCSV, "csv", csvHashes}} {
			key := ta.key(c.tn.ID, "admin")
			res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/" + c.tn.Slug + "/imports", auth: "Bearer " + key,
				body: importUpload(map[string]string{"format": c.format}, string(c.file.body))})
			if res.status != http.StatusAccepted {
				t.Fatalf("import of the %s export: %s", c.format, res)
			}
			job, res := ta.awaitImport(res.header.Get("Location"), key)
			if job.Status != store.ImportFinished || job.Counts["created"] != int64(len(want)) || job.Counts["failed"] != 0 {
				t.Fatalf("import of the %s export: %s", c.format, res)
			}
			full := c.format == "jsonl"
			if a, b := ta.userSnapshot(src.ID, full), ta.userSnapshot(c.tn.ID, full); fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s round trip:\n%v\n%v", c.format, a, b)
			}
			// And exported again, the new tenant's file is the old one.
			again := ta.get("/api/v1/tenants/"+c.tn.Slug+"/users/export?include_hashes=true&format="+c.format, platform)
			if a, b := sortedLines(c.file.body, !full), sortedLines(again.body, !full); !slices.Equal(a, b) {
				t.Errorf("%s export of the imported tenant differs:\n%s\n%s", c.format, a, b)
			}
			for email, pw := range map[string]string{"legacy0@example.com": passwords["legacy0@example.com"]} {
				ta.browser().signIn(c.tn.Slug, email, pw)
			}
		}
	})
}
