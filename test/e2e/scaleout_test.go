package e2e

import (
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestScaleOutTwoNodes is the scale-out scenario: two nodes on one
// PostgreSQL behind a round-robin proxy share every piece of state a
// client can notice — codes, refresh tokens, sessions, login throttles and
// signing keys.
func TestScaleOutTwoNodes(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	p, a, b, envA, _ := twoNodes(t, sqltest.PostgresDSN(t))
	out, errOut, code := cli(t, envA, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	token := lastLine(out)
	const A, B = 0, 1

	t.Run("CodeAndRefreshAcrossNodes", func(t *testing.T) {
		api := &client{t: t, base: p.URL, token: token}
		uid := mkUser(api, map[string]any{"email": "roam@example.com", "password": "quiet harbour lantern 42", "email_verified": true})
		r := newRP(t, envA, p.URL, "default")
		m := (&deployment{base: p.URL}).discover(t, "default")
		p.pin(A)
		g := r.code("roam@example.com", "quiet harbour lantern 42")
		p.pin(B)
		tok := postForm(t, m.Token, r.exchangeForm(g.code, g.verifier), r.conf.ClientID, r.conf.ClientSecret)
		rt := tok.str("refresh_token")
		if tok.Status != 200 || tok.str("access_token") == "" || rt == "" {
			t.Fatalf("code from node A exchanged on node B: %d %s", tok.Status, tok.Raw)
		}
		p.pin(A)
		ref := postForm(t, m.Token, refreshForm(rt), r.conf.ClientID, r.conf.ClientSecret)
		if ref.Status != 200 || ref.str("access_token") == "" {
			t.Fatalf("refresh on node A of node B's token: %d %s", ref.Status, ref.Raw)
		}
		if next := ref.str("refresh_token"); next != "" {
			rt = next
		}
		// Node B's userinfo accepts node A's access token.
		p.pin(B)
		if ui := bearerGet(t, m.UserInfo, ref.str("access_token")); ui.Status != 200 || ui.str("sub") != uid {
			t.Fatalf("userinfo on node B: %d %s", ui.Status, ui.Raw)
		}
		// The administrator ends the user's sessions through node B; the
		// next refresh on node A fails.
		(&client{t: t, base: b.URL, token: token}).must(204, "DELETE", "/api/v1/tenants/default/users/"+uid+"/sessions", nil)
		p.pin(A)
		if after := postForm(t, m.Token, refreshForm(rt), r.conf.ClientID, r.conf.ClientSecret); after.Status != 400 || after.errCode() != "invalid_grant" {
			t.Fatalf("refresh on node A after node B ended the session: %d %s", after.Status, after.Raw)
		}
		// The code node B spent is spent for node A too.
		if again := postForm(t, m.Token, r.exchangeForm(g.code, g.verifier), r.conf.ClientID, r.conf.ClientSecret); again.Status != 400 || again.errCode() != "invalid_grant" {
			t.Fatalf("code replayed on node A after node B spent it: %d %s", again.Status, again.Raw)
		}
		p.pin(-1)
	})

	t.Run("LockoutCountsShared", func(t *testing.T) {
		api := &client{t: t, base: p.URL, token: token}
		mkUser(api, map[string]any{"email": "target@example.com", "password": "the real password", "email_verified": true})
		r := newRP(t, envA, p.URL, "default")
		p.pin(A)
		f := openLogin(t, r)
		// Four wrong passwords, alternating between the nodes: three are
		// free, the fourth starts a delay that both nodes enforce.
		for i := range 4 {
			p.pin(i % 2)
			res := f.must(t, "target@example.com", "wrong "+strconv.Itoa(i))
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d on node %d: %d", i+1, i%2, res.Status)
			}
		}
		for _, n := range []int{A, B} {
			p.pin(n)
			res := f.must(t, "target@example.com", "the real password")
			if res.Status != http.StatusTooManyRequests || signedIn(res) {
				t.Fatalf("right password on node %d after 4 failures spread over both: %d", n, res.Status)
			}
		}
		p.pin(-1)
	})

	t.Run("KeyRotatedThroughOneServedByBoth", func(t *testing.T) {
		id, secret := registered(t, envA, "default", "--name", "Service", "--grant", "client_credentials")
		m := (&deployment{base: p.URL}).discover(t, "default")
		jwksPath := strings.TrimPrefix(m.JWKS, p.URL)
		kidOn := func(n int) string {
			p.pin(n)
			res := postForm(t, m.Token, url.Values{"grant_type": {"client_credentials"}}, id, secret)
			if res.Status != 200 {
				t.Fatalf("client_credentials on node %d: %d %s", n, res.Status, res.Raw)
			}
			h, _, _ := jwtParts(t, res.str("access_token"))
			kid, _ := h["kid"].(string)
			return kid
		}
		old := kidOn(A)
		if kidOn(B) != old {
			t.Fatal("the nodes sign with different keys before the rotation")
		}
		// Rotate with node A's configuration (the CLI writes the shared database).
		if out, errOut, code := cli(t, envA, "keys", "rotate", "--tenant", "default"); code != 0 {
			t.Fatalf("keys rotate: %s %s", out, errOut)
		}
		var kidA, kidB string
		deadline := time.Now().Add(20 * time.Second) // keys are cached for 5 s
		for time.Now().Before(deadline) {
			kidA, kidB = kidOn(A), kidOn(B)
			if kidA != old && kidB != old {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if kidA == old || kidB != kidA {
			t.Fatalf("after the rotation node A signs with %q, node B with %q (before: %q)", kidA, kidB, old)
		}
		for _, n := range []*node{a, b} {
			set := jwks(t, n.URL+jwksPath)
			if len(set.Key(kidA)) == 0 || len(set.Key(old)) == 0 {
				t.Errorf("JWKS of %s lacks the new key %s or the old one %s", n.URL, kidA, old)
			}
		}
		p.pin(-1)
	})
}

// TestSignupSurvivesNodeKill: one of two nodes on one PostgreSQL is
// SIGKILLed in the middle of a sign-up load through the proxy:
// every sign-up answered 2xx is in the database whole, no row is
// half-written, and the survivor keeps serving.
func TestSignupSurvivesNodeKill(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	dsn := sqltest.PostgresDSN(t)
	p, a, b, envA, _ := twoNodes(t, dsn)
	out, _, code := cli(t, envA, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	token := lastLine(out)
	openSignup(t, p.URL, token)
	stop := make(chan struct{})
	type result struct {
		acked  []string
		failed int
	}
	done := make(chan result, 1)
	go func() {
		acked, failed := signupLoad(p.URL, "load", 16, 3000, stop)
		done <- result{acked, failed}
	}()
	time.Sleep(2500 * time.Millisecond)
	servedBefore := p.served[0].Load()
	kill9(t, b)
	time.Sleep(2 * time.Second)
	close(stop)
	res := <-done
	if len(res.acked) < 20 {
		t.Fatalf("only %d sign-ups acknowledged (%d failed): the load did not run", len(res.acked), res.failed)
	}
	if p.served[0].Load()-servedBefore < 10 {
		t.Errorf("node A served %d requests after node B was killed", p.served[0].Load()-servedBefore)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAcked(t, db, "load", res.acked)
	// The survivor still serves, and the audit chain written by both nodes
	// and cut by the kill still verifies.
	(&client{t: t, base: a.URL, token: token}).must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "after@example.com"})
	if out, errOut, code := cli(t, envA, "audit", "verify", "--tenant", "default"); code != 0 {
		t.Fatalf("audit verify after the kill: %s %s", out, errOut)
	}
	t.Logf("%d sign-ups acknowledged, %d failed (the killed node's in-flight ones)", len(res.acked), res.failed)
}

// TestSignupSurvivesKillSQLite: a single node on SQLite is SIGKILLed under
// a sign-up load, then restarted on the same data dir: every
// acknowledged sign-up is there, whole.
func TestSignupSurvivesKillSQLite(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(dir, "", testMasterKey)
	n := start(t, env)
	out, _, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	token := lastLine(out)
	openSignup(t, n.URL, token)
	stop := make(chan struct{})
	done := make(chan []string, 1)
	go func() {
		acked, _ := signupLoad(n.URL, "load", 16, 3000, stop)
		done <- acked
	}()
	time.Sleep(2500 * time.Millisecond)
	kill9(t, n)
	close(stop)
	acked := <-done
	if len(acked) < 20 {
		t.Fatalf("only %d sign-ups acknowledged before the kill: the load did not run", len(acked))
	}
	n2 := start(t, env)
	db, err := openSQLite(dir + "/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAcked(t, db, "load", acked)
	// The restarted node serves: the last acknowledged sign-up is found.
	var list struct{ Items []map[string]any }
	(&client{t: t, base: n2.URL, token: token}).must(200, "GET", "/api/v1/tenants/default/users?email="+url.QueryEscape(acked[len(acked)-1]), nil).json(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("the restarted node finds %d users for %s", len(list.Items), acked[len(acked)-1])
	}
	if out, errOut, code := cli(t, env, "audit", "verify", "--tenant", "default"); code != 0 {
		t.Fatalf("audit verify after the kill: %s %s", out, errOut)
	}
	t.Logf("%d sign-ups acknowledged before SIGKILL, all present after the restart", len(acked))
}
