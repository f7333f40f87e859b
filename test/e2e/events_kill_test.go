package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

// TestWebhookSurvivesKillSQLite and ...Postgres: a user is created (the
// API answered, so the change and its event are committed) while the
// webhook receiver is down; the server is SIGKILLed before it could
// deliver, restarted, and the event reaches the receiver once it is up,
// signed, with the event id as webhook-id.
func TestWebhookSurvivesKillSQLite(t *testing.T) {
	dir := t.TempDir()
	webhookSurvivesKill(t, testEnv(dir, "", testMasterKey))
}

func TestWebhookSurvivesKillPostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	webhookSurvivesKill(t, testEnv(t.TempDir(), sqltest.PostgresDSN(t), testMasterKey))
}

func webhookSurvivesKill(t *testing.T, env []string) {
	n := start(t, env)
	out, _, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	c := &client{t: t, base: n.URL, token: lastLine(out)}
	// The receiver's address, with nothing listening on it yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var hook struct{ ID, Secret string }
	c.must(201, "POST", "/api/v1/tenants/default/webhooks",
		map[string]any{"url": "http://" + addr + "/hook", "events": []string{"user.created"}}).json(t, &hook)
	var u struct{ ID string }
	c.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "survivor@example.com"}).json(t, &u)
	kill9(t, n)

	type got struct {
		id   string
		body map[string]any
		err  error
	}
	var (
		mu    sync.Mutex
		calls []got
	)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the receiver's port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		g := got{id: r.Header.Get("webhook-id")}
		g.err = whsig.Verify(hook.Secret, g.id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), raw, time.Now())
		_ = json.Unmarshal(raw, &g.body)
		mu.Lock()
		calls = append(calls, g)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	n2 := start(t, env)
	c2 := &client{t: t, base: n2.URL, token: c.token}
	// The killed node may have failed a first attempt (the receiver was
	// down: the retry comes 2-4 s later, after the restart) or claimed the
	// delivery and died before recording the attempt (its one-minute lease
	// must run out first); wait for either, bounded.
	if !eventuallyWithin(90*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) > 0 }) {
		t.Fatalf("no delivery after the restart\n%s", n2.Logs())
	}
	mu.Lock()
	first := calls[0]
	mu.Unlock()
	data, _ := first.body["data"].(map[string]any)
	if first.err != nil || first.body["type"] != "user.created" || data["user_id"] != u.ID || data["email"] != "survivor@example.com" {
		t.Fatalf("delivery after restart = %+v", first)
	}
	var dl struct {
		Items []struct {
			EventID string `json:"event_id"`
			State   string `json:"state"`
		}
	}
	if !eventually(func() bool {
		c2.must(200, "GET", "/api/v1/tenants/default/webhooks/"+hook.ID+"/deliveries", nil).json(t, &dl)
		return len(dl.Items) == 1 && dl.Items[0].State == "delivered"
	}) {
		t.Fatalf("deliveries = %+v", dl)
	}
	if dl.Items[0].EventID != first.id {
		t.Fatalf("webhook-id %s is not the event id %s", first.id, dl.Items[0].EventID)
	}
}
