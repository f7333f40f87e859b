package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// verifyStandardWebhook is the Standard Webhooks reference verification,
// written here from the specification and independent of internal/whsig:
// the secret is "whsec_" + base64 of the key; the signed content is
// "{webhook-id}.{webhook-timestamp}.{body}"; webhook-signature holds
// space-separated "v1,<base64 HMAC-SHA256>"; the timestamp is within five
// minutes of now.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return errors.New("secret is not whsec_ + base64")
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	if d := now.Unix() - sec; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d is %ds off", sec, d)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// hookCall is one request the receiver acknowledged.
type hookCall struct {
	ID, Type string
	Data     map[string]any
	Sigs     int
}

// receiver is a webhook endpoint on 127.0.0.1: it fails the requests
// fail picks (answering 500), verifies the signature of the others with
// every secret in secrets (each must match), and deduplicates by
// webhook-id as a receiver should.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// fail decides, by the request's number (from 1), to answer 500.
	fail     func(n int) bool
	secrets  []string
	requests int
	acked    []hookCall
	seen     map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, seen: map[string]int{}, fail: func(int) bool { return false }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.fail(r.requests) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for _, s := range r.secrets {
		if err := verifyStandardWebhook(s, req.Header, body, time.Now()); err != nil {
			r.t.Errorf("delivery %s: %v", req.Header.Get("webhook-id"), err)
		}
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(body, &msg); err != nil || len(msg) != 3 || msg["type"] == nil || msg["timestamp"] == nil {
		r.t.Errorf("body is not {type, timestamp, data}: %s", body)
	}
	var c hookCall
	_ = json.Unmarshal(msg["type"], &c.Type)
	_ = json.Unmarshal(msg["data"], &c.Data)
	c.ID, c.Sigs = req.Header.Get("webhook-id"), len(strings.Fields(req.Header.Get("webhook-signature")))
	if r.seen[c.ID]++; r.seen[c.ID] == 1 {
		r.acked = append(r.acked, c)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) calls() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.acked)
}

// drain runs the dispatcher until the receiver acknowledged want events
// (bounded), as the dispatcher Serve starts would.
func drain(t *testing.T, d *events.Dispatcher, r *receiver, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(r.calls()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d events, want %d", len(r.calls()), want)
		}
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatalf("dispatcher: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quickDispatcher retries at once (the backoff's own test checks the
// schedule).
func (ta *testApp) quickDispatcher() *events.Dispatcher {
	d := ta.Dispatcher()
	d.BaseBackoff, d.Jitter = time.Millisecond, func() float64 { return 0 }
	return d
}

// hook registers a webhook endpoint through the API and answers its id
// and secret.
func (ta *testApp) hook(tn *store.Tenant, token, url string, types ...string) (string, string) {
	ta.t.Helper()
	out := ta.mustAPI("POST", "/api/v1/tenants/"+tn.Slug+"/webhooks", token,
		map[string]any{"url": url, "events": types, "description": "CRM"})
	id, _ := out["id"].(string)
	secret, _ := out["secret"].(string)
	if id == "" || !strings.HasPrefix(secret, "whsec_") {
		ta.t.Fatalf("create webhook answered %v", out)
	}
	return id, secret
}

func checkSchema(t *testing.T, c hookCall) {
	t.Helper()
	data, _ := json.Marshal(c.Data)
	if err := events.Validate(c.Type, data); err != nil {
		t.Errorf("%s %s does not validate against its schema: %v (%s)", c.Type, c.ID, err, data)
	}
}

func anyList(v any) []any { l, _ := v.([]any); return l }

// TestWebhookDelivery: a receiver gets user.created signed so that an
// independent Standard Webhooks verifier accepts it, with the event id as
// webhook-id; only subscribed types are sent; bad registrations are
// refused and change nothing; a rotated secret signs beside the new one
// during its overlap; the deliveries API shows the attempt.
func TestWebhookDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("crm")
		admin := ta.key(tn.ID, "admin")
		r := newReceiver(t)
		base := "/api/v1/tenants/" + tn.Slug
		for _, bad := range []map[string]any{
			{"url": "ftp://127.0.0.1/x", "events": []string{"user.created"}},
			{"url": "http://hooks.example.com/in", "events": []string{"user.created"}}, // http to a non-loopback host
			{"url": r.srv.URL, "events": []string{"nope.*"}},
			{"url": r.srv.URL, "events": []string{}},
			{"url": r.srv.URL, "events": []string{"user.created"}, "secret": "whsec_mine"},
		} {
			if res := ta.do(request{method: "POST", path: base + "/webhooks", auth: "Bearer " + admin, body: bad}); res.status != 400 {
				t.Errorf("POST webhooks %v: %s", bad, res)
			}
		}
		id, secret := ta.hook(tn, admin, r.srv.URL, "user.created", "user.updated")
		r.secrets = []string{secret}
		if l := ta.mustAPI("GET", base+"/webhooks", admin, nil); len(anyList(l["items"])) != 1 {
			t.Fatalf("webhooks after refused registrations: %v", l)
		}
		if strings.Contains(string(ta.get(base+"/webhooks/"+id, admin).body), secret[6:]) {
			t.Fatal("GET webhook answers the secret")
		}
		u := ta.mustAPI("POST", base+"/users", admin, map[string]any{"email": "ada@example.com", "given_name": "Ada"})
		ta.mustAPI("DELETE", base+"/users/"+ta.user(tn.ID, "gone@example.com").ID, admin, nil) // user.deleted: not subscribed
		d := ta.quickDispatcher()
		drain(t, d, r, 2)
		calls := r.calls()
		if calls[0].Data["user_id"] != u["id"] {
			calls[0], calls[1] = calls[1], calls[0] // two users' events: no order between them
		}
		if calls[0].Type != "user.created" || calls[0].Data["user_id"] != u["id"] || calls[0].Data["email"] != "ada@example.com" ||
			calls[0].Data["given_name"] != "Ada" || calls[0].Sigs != 1 {
			t.Fatalf("first delivery = %+v", calls[0])
		}
		for _, c := range calls {
			if c.Type != "user.created" {
				t.Errorf("unsubscribed %s delivered", c.Type)
			}
			checkSchema(t, c)
		}
		var dl struct {
			Items []struct {
				ID, EventID, EventType, State string
				Attempts                      []struct {
					At         time.Time `json:"at"`
					StatusCode int       `json:"status_code"`
					LatencyMS  int64     `json:"latency_ms"`
					Error      string    `json:"error"`
				}
			}
		}
		res := ta.get(base+"/webhooks/"+id+"/deliveries", admin)
		if err := json.Unmarshal(bytes.ReplaceAll(res.body, []byte(`"event_`), []byte(`"event`)), &dl); err != nil || len(dl.Items) != 2 {
			t.Fatalf("deliveries: %s", res)
		}
		first := dl.Items[1] // newest first
		if first.EventID != calls[0].ID {
			first = dl.Items[0]
		}
		if first.EventID != calls[0].ID || first.EventType != "user.created" || first.State != "delivered" ||
			len(first.Attempts) != 1 || first.Attempts[0].StatusCode != 204 || first.Attempts[0].Error != "" {
			t.Fatalf("delivery = %+v; webhook-id %s", first, calls[0].ID)
		}

		// Rotation: both secrets sign during the overlap, the new one after.
		rot := ta.mustAPI("POST", base+"/webhooks/"+id+"/rotate-secret", admin, map[string]any{"overlap_seconds": 2})
		newSecret, _ := rot["secret"].(string)
		if !strings.HasPrefix(newSecret, "whsec_") || newSecret == secret {
			t.Fatalf("rotate answered %v", rot)
		}
		r.secrets = []string{secret, newSecret}
		ta.mustAPI("PATCH", base+"/users/"+u["id"].(string), admin, map[string]any{"given_name": "Augusta"})
		drain(t, d, r, 3)
		if c := r.calls()[2]; c.Type != "user.updated" || c.Sigs != 2 {
			t.Fatalf("delivery during the overlap = %+v", c)
		}
		time.Sleep(2100 * time.Millisecond)
		r.secrets = []string{newSecret}
		ta.mustAPI("PATCH", base+"/users/"+u["id"].(string), admin, map[string]any{"family_name": "King"})
		drain(t, d, r, 4)
		if c := r.calls()[3]; c.Sigs != 1 {
			t.Fatalf("delivery after the overlap = %+v", c)
		}
		for _, a := range []string{"webhook.create", "webhook.rotate_secret"} {
			if ta.auditCount(tn.ID, a) != 1 {
				t.Errorf("audit %s: %d entries", a, ta.auditCount(tn.ID, a))
			}
		}
		// Another tenant's key sees none of it.
		other := ta.key(ta.tenant("other").ID, "admin")
		if res := ta.get(base+"/webhooks/"+id+"/deliveries", other); res.status != 404 {
			t.Fatalf("other tenant reads deliveries: %s", res)
		}
	})
}

// TestWebhookRetriesInOrder: the receiver fails its first three requests,
// then recovers: every event arrives, each webhook-id acknowledged exactly
// once, and each user's events arrive in the order they happened, also
// while every third request fails.
func TestWebhookRetriesInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("shop")
		admin := ta.key(tn.ID, "admin")
		r := newReceiver(t)
		r.fail = func(n int) bool { return n <= 3 }
		id, secret := ta.hook(tn, admin, r.srv.URL, "user.*")
		r.secrets = []string{secret}
		base := "/api/v1/tenants/" + tn.Slug
		var users []string
		for i := range 3 {
			users = append(users, ta.user(tn.ID, fmt.Sprintf("buyer%d@example.com", i)).ID)
		}
		d := ta.quickDispatcher()
		drain(t, d, r, 3)
		if r.requests != 6 {
			t.Fatalf("%d requests for 3 events with 3 failures", r.requests)
		}
		// Every third request fails while each user changes five times.
		r.mu.Lock()
		r.fail = func(n int) bool { return n%3 == 0 }
		r.mu.Unlock()
		for step := range 5 {
			for _, u := range users {
				ta.mustAPI("PATCH", base+"/users/"+u, admin, map[string]any{"given_name": fmt.Sprintf("step-%d", step)})
			}
		}
		drain(t, d, r, 18)
		time.Sleep(50 * time.Millisecond)
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		calls := r.calls()
		if len(calls) != 18 {
			t.Fatalf("%d distinct events acknowledged, want 18", len(calls))
		}
		for wid, n := range r.seen {
			if n != 1 {
				t.Errorf("webhook-id %s acknowledged %d times", wid, n)
			}
		}
		for _, u := range users {
			var seq []string
			for _, c := range calls {
				if c.Data["user_id"] == u {
					checkSchema(t, c)
					if c.Type == "user.created" {
						seq = append(seq, "created")
					} else {
						ch, _ := c.Data["changes"].(map[string]any)
						gn, _ := ch["given_name"].(map[string]any)
						seq = append(seq, fmt.Sprint(gn["after"]))
					}
				}
			}
			want := []string{"created", "step-0", "step-1", "step-2", "step-3", "step-4"}
			if !slices.Equal(seq, want) {
				t.Errorf("user %s: events arrived as %v, want %v", u, seq, want)
			}
		}
		// The failures are in the deliveries' attempts.
		out := ta.mustAPI("GET", base+"/webhooks/"+id+"/deliveries?limit=100", admin, nil)
		failed := 0
		for _, it := range anyList(out["items"]) {
			m := it.(map[string]any)
			if m["state"] != "delivered" {
				t.Errorf("delivery %v is %v", m["id"], m["state"])
			}
			for _, a := range anyList(m["attempts"]) {
				if a.(map[string]any)["status_code"] == float64(500) {
					failed++
				}
			}
		}
		if failed != r.requests-18 {
			t.Fatalf("%d failed attempts recorded, receiver failed %d", failed, r.requests-18)
		}
	})
}

// TestWebhookDeadDisablesAndMails: a delivery that fails for the whole
// retry period is dead; its endpoint is disabled, which is audited and
// mailed to the tenant's admins; new events are not queued for it; once
// enabled again, a retried delivery goes out.
func TestWebhookDeadDisablesAndMails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("flaky")
		admin := ta.key(tn.ID, "admin")
		base := "/api/v1/tenants/" + tn.Slug
		boss := ta.user(tn.ID, "boss@example.com")
		ctx := context.Background()
		if _, err := ta.Authz.CreateRole(ctx, testActor, tn.ID, authz.NewRole{Name: "admin"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ta.Authz.AssignUser(ctx, testActor, tn.ID, boss.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		r := newReceiver(t)
		failing := true
		r.fail = func(int) bool { return failing }
		id, secret := ta.hook(tn, admin, r.srv.URL, "user.created")
		r.secrets = []string{secret}
		ta.clearMails()
		ta.user(tn.ID, "lost@example.com")
		now := time.Now().Add(time.Second)
		d := ta.quickDispatcher()
		d.Now = func() time.Time { return now }
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(73 * time.Hour)
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		out := ta.mustAPI("GET", base+"/webhooks/"+id+"/deliveries", admin, nil)
		items := anyList(out["items"])
		if len(items) != 1 || items[0].(map[string]any)["state"] != "dead" || len(anyList(items[0].(map[string]any)["attempts"])) != 2 {
			t.Fatalf("deliveries after 73 hours: %v", out)
		}
		w := ta.mustAPI("GET", base+"/webhooks/"+id, admin, nil)
		if w["enabled"] != false || w["disabled_reason"] == "" {
			t.Fatalf("webhook after a dead delivery: %v", w)
		}
		if ta.auditCount(tn.ID, "webhook.disable") != 1 {
			t.Fatal("the disabling is not audited")
		}
		if m := ta.mailTo("boss@example.com"); !strings.Contains(m.Subject, "was disabled") {
			t.Fatalf("admin mail: %+v", m)
		}
		// Disabled: a new event is not queued for it.
		ta.user(tn.ID, "unseen@example.com")
		if _, err := d.FanOut(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if out := ta.mustAPI("GET", base+"/webhooks/"+id+"/deliveries", admin, nil); len(anyList(out["items"])) != 1 {
			t.Fatalf("a disabled endpoint got a delivery: %v", out)
		}
		// Enabled again and retried by hand, the dead delivery goes out.
		failing = false
		ta.mustAPI("PATCH", base+"/webhooks/"+id, admin, map[string]any{"enabled": true})
		did := items[0].(map[string]any)["id"].(string)
		if res := ta.do(request{method: "POST", path: base + "/webhooks/" + id + "/deliveries/" + did + "/retry", auth: "Bearer " + admin}); res.status != 202 {
			t.Fatalf("retry: %s", res)
		}
		d.Now = nil
		drain(t, d, r, 1)
		if c := r.calls()[0]; c.Data["email"] != "lost@example.com" {
			t.Fatalf("retried delivery = %+v", c)
		}
	})
}

// TestEventStream: the SIEM stream answers the tenant's events as NDJSON
// after a cursor to an audit:read key; erasing a user leaves only the id
// in their events.
func TestEventStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("siem")
		key := ta.key(tn.ID, "audit:read")
		base := "/api/v1/tenants/" + tn.Slug + "/events"
		a := ta.user(tn.ID, "first@example.com")
		b := ta.user(tn.ID, "second@example.com")
		ta.user(ta.tenant("elsewhere").ID, "other@example.com")
		lines := func(path string) []map[string]any {
			t.Helper()
			res := ta.get(path, key)
			if res.status != 200 || res.header.Get("Content-Type") != "application/x-ndjson" {
				t.Fatalf("GET %s: %s", path, res)
			}
			var out []map[string]any
			sc := bufio.NewScanner(bytes.NewReader(res.body))
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				out = append(out, m)
			}
			return out
		}
		users := func(path string) []map[string]any {
			var out []map[string]any
			for _, l := range lines(path) {
				if l["type"] == "user.created" {
					out = append(out, l)
				}
			}
			return out
		}
		all := users(base)
		if len(all) != 2 || all[0]["type"] != "user.created" || all[0]["user_id"] != a.ID || all[1]["user_id"] != b.ID ||
			all[0]["tenant"] != string(tn.ID) {
			t.Fatalf("stream = %v", all)
		}
		if rest := users(base + "?cursor=" + all[0]["id"].(string)); len(rest) != 1 || rest[0]["id"] != all[1]["id"] {
			t.Fatalf("after cursor: %v", rest)
		}
		// Sign-ins: a refused password, a session begun and ended.
		ctx := context.Background()
		if _, err := ta.Flow.CheckPassword(ctx, tn.ID, "first@example.com", "not the password", "127.0.0.1"); err == nil {
			t.Fatal("a wrong password was accepted")
		}
		sess, _, err := ta.Sessions.Create(ctx, tn.ID, b.ID, []string{"pwd"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := ta.Sessions.End(ctx, tn.ID, sess.ID); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, l := range lines(base + "?cursor=" + all[1]["id"].(string)) {
			data, _ := json.Marshal(l["data"])
			if err := events.Validate(l["type"].(string), data); err != nil {
				t.Errorf("%s: %v", l["type"], err)
			}
			if strings.Contains(string(data), "first@example.com") {
				t.Errorf("%s carries the identifier: %s", l["type"], data)
			}
			seen = append(seen, fmt.Sprint(l["type"], " ", l["user_id"]))
		}
		want := []string{"login.failed " + a.ID, "login.succeeded " + b.ID, "session.created " + b.ID, "session.ended " + b.ID}
		if !slices.Equal(seen, want) {
			t.Fatalf("sign-in events = %v, want %v", seen, want)
		}
		if res := ta.get(base+"?cursor=nope", key); res.status != 400 {
			t.Fatalf("bad cursor: %s", res)
		}
		if res := ta.get(base, ta.key(tn.ID, "read")); res.status != 403 {
			t.Fatalf("read key: %s", res)
		}
		err = ta.DB.InTx(ctx, func(tx store.Repos) error { return ta.Outbox.EraseUser(ctx, tx, tn.ID, a.ID) })
		if err != nil {
			t.Fatal(err)
		}
		all = users(base)
		data, _ := json.Marshal(all[0]["data"])
		if strings.Contains(string(data), "first@example.com") || all[0]["data"].(map[string]any)["user_id"] != a.ID ||
			all[0]["data"].(map[string]any)["redacted"] != true || all[1]["data"].(map[string]any)["email"] != "second@example.com" {
			t.Fatalf("after erasure: %v", all)
		}
	})
}
