package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// person is a user with values distinctive enough to search the whole
// database for.
type person struct {
	id, email, given, family, newGiven, password string
}

func (p person) traces() []string {
	return []string{p.email, strings.ToLower(p.email), p.given, p.family, p.newGiven}
}

func newPerson(t *testing.T) person {
	s := randomSuffix(t)
	return person{email: "Zelda.Erasure-" + s + "@Privacy.example", given: "Quillonia" + s, family: "Vexmoorhaven" + s,
		newGiven: "Brambletonia" + s, password: "a long enough passphrase " + randomSuffix(t)}
}

// createPerson creates p through the API, signs it in on the hosted
// account page, changes its name there and through the API, and has a
// reset mail delivered to it and another queued: the audit log, the
// mail queue and the mail files all hold its data.
func (ta *testApp) createPerson(t *testing.T, p *person, admin string) *browserClient {
	t.Helper()
	res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/users", auth: admin, body: map[string]any{
		"email": p.email, "password": p.password, "given_name": p.given, "family_name": p.family}})
	if res.status != http.StatusCreated {
		t.Fatalf("create user: %s", res)
	}
	var u struct{ ID string }
	if err := json.Unmarshal(res.body, &u); err != nil || u.ID == "" {
		t.Fatalf("create user: %s", res)
	}
	p.id = u.ID
	b := ta.browser()
	b.signIn("acme", p.email, p.password)
	tok := b.csrf("/t/acme/account")
	if pg := b.post("/t/acme/account/profile", form("csrf", tok, "given_name", p.newGiven, "family_name", p.family)); pg.status >= 400 {
		t.Fatalf("profile change: %d %.300s", pg.status, pg.body)
	}
	if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme/users/" + p.id, auth: admin,
		body: map[string]any{"family_name": p.family + "x"}}); r.status != http.StatusOK {
		t.Fatalf("API patch: %s", r)
	}
	if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme/users/" + p.id, auth: admin,
		body: map[string]any{"family_name": p.family}}); r.status != http.StatusOK {
		t.Fatalf("API patch: %s", r)
	}
	anon := ta.browser()
	if pg := anon.post("/t/acme/password/forgot", form("csrf", anon.csrf("/t/acme/password/forgot"), "email", p.email)); pg.status >= 400 {
		t.Fatalf("forgot: %d", pg.status)
	}
	ta.deliverMails()
	if pg := anon.post("/t/acme/password/forgot", form("csrf", anon.csrf("/t/acme/password/forgot"), "email", p.email)); pg.status >= 400 {
		t.Fatalf("forgot: %d", pg.status)
	}
	return b
}

// databaseText answers everything the database holds: on SQLite the
// database files as bytes after a checkpoint that truncates the WAL; on
// PostgreSQL every row of every table of the test's schema as text, and
// a pg_dump of the schema's data when pg_dump runs against this server.
func (ta *testApp) databaseText(t *testing.T) []byte {
	t.Helper()
	ctx := context.Background()
	if ta.DB.Dialect() == "sqlite" {
		if _, err := ta.DB.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		var all []byte
		files, _ := filepath.Glob(filepath.Join(ta.Config.DataDir, "gatehouse.db*"))
		if len(files) == 0 {
			t.Fatal("no database file")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	var schema string
	if err := ta.DB.SQL().QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	rows, err := ta.DB.SQL().QueryContext(ctx, `SELECT table_name FROM information_schema.tables
WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, schema)
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
		t.Fatalf("only %d tables in %s", len(tables), schema)
	}
	var buf bytes.Buffer
	for _, tb := range tables {
		rs, err := ta.DB.SQL().QueryContext(ctx, `SELECT t::text FROM `+schema+`.`+tb+` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var s string
			if err := rs.Scan(&s); err != nil {
				t.Fatal(err)
			}
			buf.WriteString(s + "\n")
		}
		rs.Close()
	}
	if _, err := exec.LookPath("pg_dump"); err == nil {
		out, err := exec.Command("pg_dump", "--data-only", "--schema="+schema, os.Getenv(sqltest.EnvPostgresDSN)).Output()
		if err != nil {
			t.Logf("pg_dump did not run (%v); the rows read as text stand", err)
		} else {
			buf.Write(out)
		}
	}
	return buf.Bytes()
}

// TestErasureLeavesNoTrace: a person signs in, changes its profile and
// gets mail; after its erasure the email and names are nowhere in the
// database, the mail files to it are gone, the audit chain verifies, its
// entries read [erased], and its export is 404. A legal hold blocks the
// erasure with 409 until lifted.
func TestErasureLeavesNoTrace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		admin := "Bearer " + ta.key(tn.ID, "admin")
		p, other := newPerson(t), newPerson(t)
		b := ta.createPerson(t, &p, admin)
		ta.createPerson(t, &other, admin)
		base := "/api/v1/tenants/acme/users/" + p.id
		// A consent, recorded with the person's address and browser.
		ctx := context.Background()
		if _, err := ta.Consent.CreatePurpose(ctx, testActor, tn.ID, consent.NewPurpose{Name: "newsletter", Version: "2026-12",
			Title: map[string]string{"en": "Newsletter"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.Consent.Record(ctx, testActor, tn.ID, p.id, []consent.Decision{{Purpose: "newsletter", State: store.ConsentGranted}},
			consent.Source{How: consent.HowAPI, IP: "198.51.100.44", UserAgent: "Agent-" + p.newGiven}); err != nil {
			t.Fatal(err)
		}

		// Before: the log holds the person's data sealed, and reads it
		// opened.
		// The current values are in the user's rows; the audit log holds
		// every value sealed (checked entry by entry below). The event
		// outbox keeps its own copy of changes until the erasure.
		raw := ta.databaseText(t)
		for _, s := range []string{p.email, strings.ToLower(p.email), p.family, p.newGiven} {
			if !bytes.Contains(raw, []byte(s)) {
				t.Fatalf("%q is not in the database before the erasure: the search would prove nothing", s)
			}
		}
		err := ta.DB.Audit().ScanAudit(context.Background(), tn.ID, func(e store.AuditEntry) error {
			for _, s := range p.traces() {
				if strings.Contains(string(e.Changes), s) || privacy.Subject(&e) == p.id && strings.Contains(e.ClientIP, "127.0.0.1") {
					t.Errorf("audit entry %d (%s) holds personal data in clear: %s %s", e.Seq, e.Action, e.ClientIP, e.Changes)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res := ta.do(request{method: http.MethodGet, path: "/api/v1/tenants/acme/audit?target_id=" + p.id + "&limit=1000", auth: admin})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), p.email) || !strings.Contains(string(res.body), p.newGiven) {
			t.Fatalf("the audit listing does not show the opened data: %s", res)
		}
		exp := ta.do(request{method: http.MethodGet, path: base + "/export", auth: admin})
		if exp.status != http.StatusOK || !strings.Contains(string(exp.body), p.email) || !strings.Contains(string(exp.body), `"newsletter"`) ||
			!strings.Contains(string(exp.body), `"login_history"`) || !strings.Contains(string(exp.body), "user.create") {
			t.Fatalf("export: %s", exp)
		}
		var doc struct {
			Sections struct {
				Risk []map[string]any `json:"risk"`
			} `json:"sections"`
		}
		if err := json.Unmarshal(exp.body, &doc); err != nil || len(doc.Sections.Risk) == 0 {
			t.Errorf("export: no sign-ins in the risk section (%v): %s", err, exp)
		}
		for _, secret := range []string{"argon2", p.password} {
			if strings.Contains(string(exp.body), secret) {
				t.Errorf("the export holds %q", secret)
			}
		}
		csv := ta.do(request{method: http.MethodGet, path: base + "/export?format=csv", auth: admin})
		if csv.status != http.StatusOK || !strings.HasPrefix(string(csv.body), "id,email,") || !strings.Contains(string(csv.body), p.newGiven) {
			t.Fatalf("CSV export: %s", csv)
		}
		files, _ := filepath.Glob(filepath.Join(ta.Config.DataDir, "mail", "*.eml"))
		if !filesMention(t, files, p.email) {
			t.Fatal("no mail file to the person before the erasure")
		}

		// A legal hold blocks the erasure, naming the hold.
		if r := ta.do(request{method: http.MethodPatch, path: base, auth: admin, body: map[string]any{"legal_hold": "yes"}}); r.status != http.StatusBadRequest {
			t.Errorf("legal_hold \"yes\": %s", r)
		}
		if r := ta.do(request{method: http.MethodPatch, path: base, auth: admin, body: map[string]any{"legal_hold": true, "given_name": "X"}}); r.status != http.StatusBadRequest {
			t.Errorf("legal_hold with another field: %s", r)
		}
		if r := ta.do(request{method: http.MethodPatch, path: base, auth: admin, body: map[string]any{"legal_hold": true}}); r.status != http.StatusOK ||
			!strings.Contains(string(r.body), `"legal_hold":true`) {
			t.Fatalf("hold: %s", r)
		}
		r := ta.do(request{method: http.MethodPost, path: base + "/erase", auth: admin})
		if r.status != http.StatusConflict || r.problem(t)["field"] != "legal_hold" || !strings.Contains(string(r.body), "legal hold") {
			t.Fatalf("erase under hold: %s", r)
		}
		if _, err := ta.DB.Users().GetUser(context.Background(), tn.ID, p.id); err != nil {
			t.Fatalf("the hold did not keep the user: %v", err)
		}
		// The account page's deletion is refused too.
		tok := b.csrf("/t/acme/account")
		if pg := b.post("/t/acme/account/delete", form("csrf", tok, "password", p.password)); pg.status != http.StatusConflict ||
			!strings.Contains(pg.body, "cannot be deleted right now") {
			t.Fatalf("the account page's deletion under a hold: %d %.300s", pg.status, pg.body)
		}
		if r := ta.do(request{method: http.MethodPatch, path: base, auth: admin, body: map[string]any{"legal_hold": false}}); r.status != http.StatusOK {
			t.Fatalf("lift: %s", r)
		}

		// The erasure, from the account page.
		tok = b.csrf("/t/acme/account")
		if pg := b.post("/t/acme/account/delete", form("csrf", tok, "password", p.password)); pg.status != http.StatusOK {
			t.Fatalf("account deletion: %d %.300s", pg.status, pg.body)
		}

		raw = ta.databaseText(t)
		for _, s := range p.traces() {
			if i := bytes.Index(raw, []byte(s)); i >= 0 {
				lo, hi := max(0, i-80), min(len(raw), i+80)
				t.Errorf("%q is still in the database after the erasure: %q", s, raw[lo:hi])
			}
		}
		for _, s := range []string{other.email, other.newGiven} {
			if !bytes.Contains(raw, []byte(s)) {
				t.Errorf("the other person's %q was erased too", s)
			}
		}
		files, _ = filepath.Glob(filepath.Join(ta.Config.DataDir, "mail", "*.eml"))
		if filesMention(t, files, p.email) {
			t.Error("a mail file to the erased person is left")
		}
		if !filesMention(t, files, other.email) {
			t.Error("the other person's mail files were removed")
		}
		if strings.Contains(ta.logs.String(), p.email) || strings.Contains(ta.logs.String(), strings.ToLower(p.email)) {
			t.Error("an email address is in the log")
		}
		for _, failed := range []string{"privacy: reclaim storage", "privacy: remove mail files"} {
			if strings.Contains(ta.logs.String(), failed) {
				t.Errorf("the erasure's after-steps failed: %s", ta.logs.String())
			}
		}

		// Consent survives only as an anonymous count.
		counts, err := ta.Consent.ConsentCounts(ctx, tn.ID)
		if err != nil || len(counts) != 1 || counts[0].Count != 1 {
			t.Errorf("consent counts after erasure: %+v %v", counts, err)
		}
		if bytes.Contains(raw, []byte("198.51.100.44")) {
			t.Error("the consent's address is still in the database")
		}

		// The chain verifies, through the API and directly.
		v := ta.do(request{method: http.MethodGet, path: "/api/v1/tenants/acme/audit/verify", auth: admin})
		if v.status != http.StatusOK || !strings.Contains(string(v.body), `"intact":true`) {
			t.Fatalf("verify: %s", v)
		}
		vr, err := events.Verify(context.Background(), ta.DB.Audit(), tn.ID)
		if err != nil || !vr.Intact || vr.Entries < 5 {
			t.Fatalf("verify: %+v %v", vr, err)
		}
		// The entries remain, reading [erased]; the erasure is audited
		// without personal data.
		res = ta.do(request{method: http.MethodGet, path: "/api/v1/tenants/acme/audit?target_id=" + p.id + "&limit=1000", auth: admin})
		var list struct {
			Items []struct {
				Action   string          `json:"action"`
				ClientIP string          `json:"client_ip"`
				Changes  json.RawMessage `json:"changes"`
			} `json:"items"`
		}
		if err := json.Unmarshal(res.body, &list); err != nil || res.status != http.StatusOK {
			t.Fatalf("audit list: %s", res)
		}
		actions := map[string]int{}
		for _, it := range list.Items {
			actions[it.Action]++
			if it.Action == "user.create" && !strings.Contains(string(it.Changes), `"email":{"after":"[erased]"`) {
				t.Errorf("user.create after erasure: %s", it.Changes)
			}
		}
		if actions["user.create"] != 1 || actions["user.update"] < 2 || actions["user.erased"] != 1 {
			t.Errorf("audit entries about the person: %v", actions)
		}

		// Gone for every reader.
		for _, path := range []string{base, base + "/export", base + "/export?format=csv"} {
			if r := ta.do(request{method: http.MethodGet, path: path, auth: admin}); r.status != http.StatusNotFound {
				t.Errorf("GET %s after erasure: %s", path, r)
			}
		}
		if r := ta.do(request{method: http.MethodPost, path: base + "/erase", auth: admin}); r.status != http.StatusNotFound {
			t.Errorf("second erasure: %s", r)
		}
	})
}

func filesMention(t *testing.T, files []string, s string) bool {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(s))) {
			return true
		}
	}
	return false
}

// The authorization matrix's rows of the data-subject rights routes.
func init() {
	matrix = append(matrix,
		matrixRow{method: "POST", path: tp + "/users/{id}/erase", access: tenantAdmin, fresh: true},
		matrixRow{method: "GET", path: tp + "/users/{id}/export", access: tenantAdmin},
		matrixRow{method: "POST", path: tp + "/privacy-requests", access: tenantAdmin,
			body: func(fx *fixture, _ int) any {
				return map[string]any{"type": "access", "user_id": fx.outsider.ID, "regime": "gdpr"}
			}},
		matrixRow{method: "GET", path: tp + "/privacy-requests", access: tenantRead},
		matrixRow{method: "PATCH", path: tp + "/privacy-requests/{id}", access: tenantAdmin, fresh: true,
			body: func(*fixture, int) any { return map[string]any{"status": "completed"} }},
	)
}

// privacyRequest opens an access request about userID (the authorization
// matrix's fixture).
func (ta *testApp) privacyRequest(tenant store.TenantID, userID string) string {
	ta.t.Helper()
	r, err := ta.Privacy.CreateRequest(context.Background(), testActor, tenant, privacy.NewRequest{Type: "access", UserID: userID, Regime: "gdpr"})
	if err != nil {
		ta.t.Fatalf("privacy request: %v", err)
	}
	return r.ID
}

// TestAuditConversionAtStartup: entries written in clear before
// crypto-shredding are sealed and the chain re-chained when the
// deployment next opens; the chain verifies, readers see the data, an
// erasure then shreds it too. A chain that does not verify is left alone.
func TestAuditConversionAtStartup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		cfg := testConfig(t, be.db(t))
		ta := openApp(t, cfg)
		tn, broken := ta.tenant("legacy"), ta.tenant("broken")
		// Tenants of a release before sealing: no conversion mark (a
		// tenant made now gets one with its creation).
		if _, err := ta.DB.SQL().ExecContext(ctx, `DELETE FROM privacy_audit_sealed WHERE tenant_id IN ($1, $2)`,
			string(tn.ID), string(broken.ID)); err != nil {
			t.Fatal(err)
		}
		admin := "Bearer " + ta.key(tn.ID, "admin")
		s := randomSuffix(t)
		u := ta.user(tn.ID, "legacy-"+s+"@example.com")
		// What a recorder without a sealer wrote: the data in clear.
		plain := &events.Recorder{Now: time.Now}
		old := "Oldname" + s
		for i := range 2 {
			if err := plain.Record(ctx, ta.DB, events.Actor{Type: "apikey", ID: "k", ClientIP: "198.51.100.7"}, events.Entry{
				Tenant: tn.ID, Action: "user.update", TargetType: "user", TargetID: u.ID,
				Changes: events.Changes{"given_name": {Before: nil, After: old + strconv.Itoa(i)}}}); err != nil {
				t.Fatal(err)
			}
		}
		ta.user(broken.ID, "broken-"+s+"@example.com")
		if _, err := ta.DB.SQL().ExecContext(ctx, `UPDATE audit_entries SET action = 'tampered' WHERE tenant_id = $1 AND seq = 1`, string(broken.ID)); err != nil {
			t.Fatal(err)
		}
		before, err := ta.DB.Audit().AuditHead(ctx, tn.ID)
		if err != nil || before.Seq < 3 {
			t.Fatalf("head: %+v %v", before, err)
		}

		ta2 := openApp(t, cfg) // the next start-up converts
		logs := ta2.logs.String()
		if !strings.Contains(logs, `"msg":"privacy: audit chain re-chained with sealed personal data","tenant":"`+string(tn.ID)+`","entries":`+strconv.FormatInt(before.Seq, 10)) {
			t.Errorf("no conversion logged for the tenant: %s", logs)
		}
		if !strings.Contains(logs, "audit chain of tenant "+string(broken.ID)+" does not verify") {
			t.Errorf("the broken chain is not reported: %s", logs)
		}
		if done, _ := ta2.DB.Privacy().AuditSealed(ctx, broken.ID); done {
			t.Error("the broken chain was re-chained")
		}
		if vr, _ := events.Verify(ctx, ta2.DB.Audit(), broken.ID); vr.Intact {
			t.Error("the broken chain verifies: the conversion hid the break")
		}
		// One entry more: audit.rechained, naming the old head.
		after, _ := ta2.DB.Audit().AuditHead(ctx, tn.ID)
		if after.Seq != before.Seq+1 {
			t.Errorf("head before %+v, after %+v", before, after)
		}
		if vr, err := events.Verify(ctx, ta2.DB.Audit(), tn.ID); err != nil || !vr.Intact || vr.Entries != before.Seq+1 {
			t.Fatalf("verify after conversion: %+v %v", vr, err)
		}
		last, err := ta2.DB.Audit().ListAudit(ctx, tn.ID, store.AuditQuery{Limit: 2})
		if err != nil || last[0].Action != "audit.rechained" || !strings.Contains(string(last[0].Changes), before.Hash) ||
			last[1].Hash == before.Hash {
			t.Errorf("the newest entries after conversion: %+v %v", last, err)
		}
		if err := ta2.DB.Audit().ScanAudit(ctx, tn.ID, func(e store.AuditEntry) error {
			if strings.Contains(string(e.Changes), old) || strings.Contains(e.ClientIP, "198.51.100.7") {
				t.Errorf("entry %d still in clear: %s %s", e.Seq, e.ClientIP, e.Changes)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		r := ta2.do(request{method: http.MethodGet, path: "/api/v1/tenants/legacy/audit?target_id=" + u.ID, auth: admin})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), old+"1") || !strings.Contains(string(r.body), `"client_ip":"198.51.100.7"`) {
			t.Fatalf("the converted entries do not read back: %s", r)
		}
		// Once converted, a start-up leaves the chain as it is.
		ta3 := openApp(t, cfg)
		if again, _ := ta3.DB.Audit().AuditHead(ctx, tn.ID); again != after {
			t.Errorf("a second start-up changed the head: %+v, was %+v", again, after)
		}
		if _, err := ta3.Privacy.Erase(ctx, testActor, tn.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		r = ta3.do(request{method: http.MethodGet, path: "/api/v1/tenants/legacy/audit?target_id=" + u.ID, auth: admin})
		if strings.Contains(string(r.body), old) || strings.Contains(string(r.body), "198.51.100.7") || !strings.Contains(string(r.body), privacy.Erased) {
			t.Errorf("after the erasure: %s", r)
		}
		if vr, err := events.Verify(ctx, ta3.DB.Audit(), tn.ID); err != nil || !vr.Intact {
			t.Errorf("verify after the erasure: %+v %v", vr, err)
		}
	})
}
