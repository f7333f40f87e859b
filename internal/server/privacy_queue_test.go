package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// skewClock is the real time moved forward by a settable offset.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// TestPrivacyRequests: due dates follow the regime and the tenant's
// setting, days left count down with the clock, a request closes once,
// bad input is refused naming the field, and every change is audited.
func TestPrivacyRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		clk := &skewClock{}
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clk.now})
		tn := ta.tenant("acme")
		other := ta.tenant("other")
		admin := "Bearer " + ta.key(tn.ID, "admin")
		u := ta.user(tn.ID, "dsar@example.com")
		stranger := ta.user(other.ID, "stranger@example.com")
		const path = "/api/v1/tenants/acme/privacy-requests"
		open := func(body map[string]any) map[string]any {
			t.Helper()
			r := ta.do(request{method: http.MethodPost, path: path, auth: admin, body: body})
			if r.status != http.StatusCreated {
				t.Fatalf("create %v: %s", body, r)
			}
			var out map[string]any
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		due := func(r map[string]any) time.Duration {
			c, _ := time.Parse(time.RFC3339Nano, r["created_at"].(string))
			d, _ := time.Parse(time.RFC3339Nano, r["due_at"].(string))
			return d.Sub(c)
		}
		gdpr := open(map[string]any{"type": "access", "user_id": u.ID, "regime": "gdpr"})
		ccpa := open(map[string]any{"type": "erasure", "user_id": u.ID, "regime": "ccpa", "note": "by phone"})
		if due(gdpr) != 30*24*time.Hour || gdpr["days_left"] != float64(30) || gdpr["status"] != "open" {
			t.Errorf("GDPR request: %v", gdpr)
		}
		if due(ccpa) != 45*24*time.Hour || ccpa["days_left"] != float64(45) {
			t.Errorf("CCPA request: %v", ccpa)
		}
		// The tenant's setting shortens the GDPR deadline.
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme", auth: admin,
			body: map[string]any{"settings": map[string]any{"privacy": map[string]any{"gdpr_days": 400}}}}); r.status != http.StatusBadRequest ||
			r.problem(t)["field"] != "settings.privacy.gdpr_days" {
			t.Errorf("gdpr_days 400: %s", r)
		}
		ta.mustAPI(http.MethodPatch, "/api/v1/tenants/acme", strings.TrimPrefix(admin, "Bearer "),
			map[string]any{"settings": map[string]any{"privacy": map[string]any{"gdpr_days": 20}}})
		short := open(map[string]any{"type": "rectification", "user_id": u.ID, "regime": "gdpr"})
		if due(short) != 20*24*time.Hour {
			t.Errorf("GDPR request with gdpr_days 20: %v", short)
		}

		for name, c := range map[string]struct {
			body  map[string]any
			field string
		}{
			"bad type":      {map[string]any{"type": "delete", "user_id": u.ID, "regime": "gdpr"}, "type"},
			"bad regime":    {map[string]any{"type": "access", "user_id": u.ID, "regime": "lgpd"}, "regime"},
			"no user":       {map[string]any{"type": "access", "regime": "gdpr"}, "user_id"},
			"unknown user":  {map[string]any{"type": "access", "user_id": "01900000-0000-7000-8000-000000000000", "regime": "gdpr"}, "user_id"},
			"other tenant":  {map[string]any{"type": "access", "user_id": stranger.ID, "regime": "gdpr"}, "user_id"},
			"malformed id":  {map[string]any{"type": "access", "user_id": "x", "regime": "gdpr"}, "user_id"},
			"unknown field": {map[string]any{"type": "access", "user_id": u.ID, "regime": "gdpr", "due_at": "2030-01-01"}, "due_at"},
		} {
			r := ta.do(request{method: http.MethodPost, path: path, auth: admin, body: c.body})
			if r.status != http.StatusBadRequest || r.problem(t)["field"] != c.field {
				t.Errorf("%s: %s", name, r)
			}
		}

		// A month later the GDPR requests are overdue, the CCPA one not.
		clk.advance(31 * 24 * time.Hour)
		r := ta.do(request{method: http.MethodGet, path: path + "?status=open", auth: admin})
		var list struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(r.body, &list); err != nil || r.status != http.StatusOK || len(list.Items) != 3 {
			t.Fatalf("list: %s", r)
		}
		for _, it := range list.Items {
			switch it["id"] {
			case gdpr["id"]:
				if it["days_left"] != float64(-1) || it["overdue"] != true {
					t.Errorf("GDPR request after 31 days: %v", it)
				}
			case ccpa["id"]:
				if it["days_left"] != float64(14) || it["overdue"] != false {
					t.Errorf("CCPA request after 31 days: %v", it)
				}
			}
		}

		id := ccpa["id"].(string)
		if r := ta.do(request{method: http.MethodPatch, path: path + "/" + id, auth: admin, body: map[string]any{"status": "open"}}); r.status != http.StatusBadRequest {
			t.Errorf("PATCH status open: %s", r)
		}
		r = ta.do(request{method: http.MethodPatch, path: path + "/" + id, auth: admin, body: map[string]any{"status": "completed", "note": "erased"}})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"completed"`) || !strings.Contains(string(r.body), `"closed_at"`) {
			t.Fatalf("complete: %s", r)
		}
		if r := ta.do(request{method: http.MethodPatch, path: path + "/" + id, auth: admin, body: map[string]any{"status": "rejected"}}); r.status != http.StatusBadRequest ||
			r.problem(t)["field"] != "status" {
			t.Errorf("second close: %s", r)
		}
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/other/privacy-requests/" + id, auth: "Bearer " + ta.key(other.ID, "admin"),
			body: map[string]any{"status": "rejected"}}); r.status != http.StatusNotFound {
			t.Errorf("another tenant closes the request: %s", r)
		}
		r = ta.do(request{method: http.MethodGet, path: path + "?status=completed", auth: admin})
		if err := json.Unmarshal(r.body, &list); err != nil || len(list.Items) != 1 || list.Items[0]["days_left"] != float64(0) {
			t.Errorf("completed list: %s", r)
		}
		actions := map[string]int{}
		if err := ta.DB.Audit().ScanAudit(context.Background(), tn.ID, func(e store.AuditEntry) error {
			actions[e.Action]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if actions["privacy_request.create"] != 3 || actions["privacy_request.completed"] != 1 || actions["privacy_request.rejected"] != 0 {
			t.Errorf("audit: %v", actions)
		}
	})
}

// mailsAt delivers the queue with the skewed clock (mails queued in the
// clock's future are due only then) and answers the delivered mails.
func mailsAt(ta *testApp, clk *skewClock) []deliveredMail {
	ta.t.Helper()
	w := ta.MailWorker()
	w.Now = clk.now
	for range 20 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			ta.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	return ta.mails()
}

// TestRetention: with retention_months 3, the hourly upkeep mails a
// notice to accounts idle for 3 months less 30 days, erases them 30 days
// later unless they signed in meanwhile (or are under a legal hold), and
// audits each run with its counts.
func TestRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		clk := &skewClock{}
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clk.now})
		tn := ta.tenant("keep")
		admin := "Bearer " + ta.key(tn.ID, "admin")
		ctx := context.Background()
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/keep", auth: admin,
			body: map[string]any{"settings": map[string]any{"privacy": map[string]any{"retention_months": 1}}}}); r.status != http.StatusBadRequest ||
			r.problem(t)["field"] != "settings.privacy.retention_months" {
			t.Errorf("retention_months 1: %s", r)
		}
		idle := ta.userWithPassword(tn.ID, "idle@example.com", "quiet lantern meadow")
		back := ta.userWithPassword(tn.ID, "back@example.com", "silver harbour tide 7")
		held := ta.userWithPassword(tn.ID, "held@example.com", "copper orchard mist")
		if err := ta.Privacy.SetHold(ctx, testActor, tn.ID, held.ID, true, "litigation 2026-17"); err != nil {
			t.Fatal(err)
		}
		// Without a policy nothing happens, however old the accounts.
		clk.advance(400 * 24 * time.Hour)
		ta.upkeep(ctx)
		if ms := mailsAt(ta, clk); len(ms) != 0 {
			t.Fatalf("mails without a retention policy: %v", ms)
		}
		clk.advance(-400 * 24 * time.Hour)
		ta.mustAPI(http.MethodPatch, "/api/v1/tenants/keep", strings.TrimPrefix(admin, "Bearer "),
			map[string]any{"settings": map[string]any{"privacy": map[string]any{"retention_months": 3}}})

		// 55 days idle: too early for the notice.
		clk.advance(55 * 24 * time.Hour)
		ta.upkeep(ctx)
		if ms := mailsAt(ta, clk); len(ms) != 0 {
			t.Fatalf("notice 35 days early: %v", ms)
		}
		// 70 days idle: every account is told.
		clk.advance(15 * 24 * time.Hour)
		fresh := ta.user(tn.ID, "fresh@example.com")
		ta.upkeep(ctx)
		ms := mailsAt(ta, clk)
		to := map[string]bool{}
		for _, m := range ms {
			to[m.To] = true
			if !strings.Contains(m.Subject, "will be deleted in 30 days") || !strings.Contains(m.Text, "sign in") {
				t.Errorf("notice: %v", m)
			}
		}
		if len(ms) != 3 || !to["idle@example.com"] || !to["back@example.com"] || !to["held@example.com"] {
			t.Fatalf("notices went to %v", to)
		}
		ta.clearMails()
		ta.upkeep(ctx) // told once
		if ms := mailsAt(ta, clk); len(ms) != 0 {
			t.Fatalf("a second notice: %v", ms)
		}
		// One signs in and keeps the account.
		ta.browser().signIn("keep", "back@example.com", "silver harbour tide 7")

		// 31 days after the notice: the idle account is erased.
		clk.advance(31 * 24 * time.Hour)
		ta.upkeep(ctx)
		if _, err := ta.DB.Users().GetUser(ctx, tn.ID, idle.ID); err == nil {
			t.Error("the idle account survived")
		}
		for _, u := range []*store.User{back, held, fresh} {
			if _, err := ta.DB.Users().GetUser(ctx, tn.ID, u.ID); err != nil {
				t.Errorf("%s was deleted: %v", u.Email, err)
			}
		}
		if ms := mailsAt(ta, clk); len(ms) != 0 {
			t.Errorf("mails at the erasure: %v", ms)
		}
		var runs []events.Changes
		if err := ta.DB.Audit().ScanAudit(ctx, tn.ID, func(e store.AuditEntry) error {
			if e.Action == "privacy.retention" {
				var c events.Changes
				if err := json.Unmarshal(e.Changes, &c); err != nil {
					return err
				}
				runs = append(runs, c)
			}
			if e.Action == "user.erased" && e.TargetID != idle.ID {
				t.Errorf("erased %s", e.TargetID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Runs: 55 days, 70 days, again, 101 days.
		if len(runs) != 4 {
			t.Fatalf("retention runs audited: %d", len(runs))
		}
		last := runs[3]
		if runs[1]["noticed"].After != float64(3) || last["erased"].After != float64(1) || last["held"].After != float64(1) ||
			last["noticed"].After != float64(0) {
			t.Errorf("run counts: %v / %v", runs[1], last)
		}
		if vr, err := events.Verify(ctx, ta.DB.Audit(), tn.ID); err != nil || !vr.Intact {
			t.Errorf("verify: %+v %v", vr, err)
		}
	})
}
