package e2e

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// loginLoad signs users in through the account sign-in form from workers
// goroutines, in turn, until stop is closed or max attempts are made, and
// answers the users whose sign-in was acknowledged (303 to the account).
func loginLoad(base string, users []string, workers, max int, stop <-chan struct{}) map[string]bool {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		counter atomic.Int64
		acked   = map[string]bool{}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Timeout: 10 * time.Second, Jar: jar,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			u, _ := url.Parse(base)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := counter.Add(1)
				if n > int64(max) {
					return
				}
				res, err := hc.Get(base + "/t/default/account/login")
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				var csrf string
				for _, c := range jar.Cookies(u) {
					if c.Name == "gh_csrf" {
						csrf = c.Value
					}
				}
				email := users[int(n)%len(users)]
				res, err = hc.PostForm(base+"/t/default/account/login", url.Values{"identifier": {email},
					"password": {"correct horse battery staple 7"}, "csrf": {csrf}})
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/t/default/account") {
					mu.Lock()
					acked[email] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// mauUsers creates n users with a password through c and answers their
// addresses.
func mauUsers(c *client, n int) []string {
	var users []string
	for i := range n {
		email := fmt.Sprintf("mau-%d@example.com", i)
		c.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": "correct horse battery staple 7"})
		users = append(users, email)
	}
	return users
}

// killUnderLogins runs a sign-in load of users at base, SIGKILLs victim
// 1.5 s in, lets the load run on for linger, and answers the users whose
// sign-in was acknowledged.
func killUnderLogins(t *testing.T, base string, users []string, victim *node, linger time.Duration) map[string]bool {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan map[string]bool, 1)
	go func() { done <- loginLoad(base, users, 8, 5000, stop) }()
	time.Sleep(1500 * time.Millisecond)
	kill9(t, victim)
	time.Sleep(linger)
	close(stop)
	acked := <-done
	if len(acked) < 10 {
		t.Fatalf("only %d users signed in before the kill: the load did not run", len(acked))
	}
	return acked
}

// checkMAU fails t unless the default tenant's MAU read through c is the
// number of its users with a session in db, and at least acked; it
// answers the MAU.
func checkMAU(t *testing.T, db *sql.DB, c *client, acked int) int {
	t.Helper()
	var withSession int
	if err := db.QueryRow(`SELECT COUNT(DISTINCT user_id) FROM sessions WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'default')`).Scan(&withSession); err != nil {
		t.Fatal(err)
	}
	var u struct{ MAU int }
	c.must(200, "GET", "/api/v1/tenants/default/usage", nil).json(t, &u)
	if u.MAU != withSession || u.MAU < acked {
		t.Fatalf("MAU = %d; users with a session %d, acknowledged at least %d", u.MAU, withSession, acked)
	}
	return u.MAU
}

// TestMAUSurvivesKillSQLite: a node SIGKILLed under a sign-in load and
// restarted counts as active exactly the users that have a session: every
// acknowledged sign-in is counted, none twice, and signing in again after
// the restart changes nothing but the newly signed in.
func TestMAUSurvivesKillSQLite(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(dir, "", testMasterKey)
	n := start(t, env)
	out, _, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	c := &client{t: t, base: n.URL, token: lastLine(out)}
	users := mauUsers(c, 1000)
	acked := killUnderLogins(t, n.URL, users, n, 0)
	n2 := start(t, env)
	db, err := openSQLite(dir + "/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c2 := &client{t: t, base: n2.URL, token: c.token}
	before := checkMAU(t, db, c2, len(acked))
	loginLoad(n2.URL, users[:20], 2, 40, make(chan struct{}))
	after := checkMAU(t, db, c2, len(acked))
	t.Logf("%d users acknowledged before SIGKILL, MAU %d; after 40 more sign-ins of 20 users, MAU %d", len(acked), before, after)
}

// TestMAUTwoNodesPostgres: two nodes on one PostgreSQL sign the same
// users in through a round-robin proxy and one is SIGKILLed mid-load: the
// MAU is exactly the users with a session, none counted twice.
func TestMAUTwoNodesPostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	dsn := sqltest.PostgresDSN(t)
	p, a, b, envA, _ := twoNodes(t, dsn)
	out, _, code := cli(t, envA, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	c := &client{t: t, base: a.URL, token: lastLine(out)}
	users := mauUsers(c, 300)
	acked := killUnderLogins(t, p.URL, users, b, time.Second)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mau := checkMAU(t, db, c, len(acked))
	t.Logf("%d users acknowledged over two nodes (one killed), MAU %d", len(acked), mau)
}
