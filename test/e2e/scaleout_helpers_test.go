package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rrProxy is a small round-robin load balancer in front of gatehouse
// nodes, as an operator would put one: each request goes to the next live
// node; a node that refuses a connection is marked down and skipped. pin
// sends every request to one node, so a test can say which node serves a
// step (log in on A, exchange on B).
type rrProxy struct {
	URL     string
	targets []*url.URL
	next    atomic.Uint64
	pinned  atomic.Int32 // -1: round robin
	down    []atomic.Bool
	served  []atomic.Int64
	srv     *http.Server
}

// newRRProxy listens on a free 127.0.0.1 port; set its targets with
// setTargets once the nodes listen (they need the proxy's URL first).
func newRRProxy(t *testing.T) *rrProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &rrProxy{URL: "http://" + ln.Addr().String()}
	p.pinned.Store(-1)
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *rrProxy) setTargets(t *testing.T, urls ...string) {
	t.Helper()
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		p.targets = append(p.targets, u)
	}
	p.down = make([]atomic.Bool, len(urls))
	p.served = make([]atomic.Int64, len(urls))
}

// pin sends every request to node i; -1 goes back to round robin.
func (p *rrProxy) pin(i int) { p.pinned.Store(int32(i)) }

func (p *rrProxy) pick() int {
	if i := int(p.pinned.Load()); i >= 0 {
		return i
	}
	for range len(p.targets) {
		i := int(p.next.Add(1) % uint64(len(p.targets)))
		if !p.down[i].Load() {
			return i
		}
	}
	return 0
}

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := p.pick()
	target := p.targets[i]
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				p.down[i].Store(true)
			}
			http.Error(w, "bad gateway", http.StatusBadGateway)
		},
	}
	p.served[i].Add(1)
	rp.ServeHTTP(w, r)
}

// twoNodes starts two gatehouse nodes on one PostgreSQL database (their
// own data dirs, the same master key, extra settings as KEY=value) whose
// public URL is a round-robin proxy in front of both.
func twoNodes(t *testing.T, dsn string, extra ...string) (p *rrProxy, a, b *node, envA, envB []string) {
	t.Helper()
	p = newRRProxy(t)
	envA = append(append(testEnv(t.TempDir(), dsn, testMasterKey), "GATEHOUSE_PUBLIC_URL="+p.URL), extra...)
	envB = append(append(testEnv(t.TempDir(), dsn, testMasterKey), "GATEHOUSE_PUBLIC_URL="+p.URL), extra...)
	ch := make(chan *node, 2)
	go func() { ch <- start(t, envA) }()
	a = <-ch
	go func() { ch <- start(t, envB) }()
	b = <-ch
	p.setTargets(t, a.URL, b.URL)
	return p, a, b, envA, envB
}

// openSignup opens the default tenant's sign-up to everyone, with a
// per-address limit a load from one address stays under.
func openSignup(t *testing.T, base, token string) {
	t.Helper()
	(&client{t: t, base: base, token: token}).must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"self_service": map[string]any{"signup": "open", "signups_per_ip_hour": 1000000}}})
}

// signupLoad signs up through the hosted form (/t/default/signup, as a
// browser: the CSRF cookie first, then the post) from workers goroutines
// until stop is closed or max attempts are made. It answers the address
// of every sign-up acknowledged with a 200 and its confirmation page, and
// how many attempts failed.
func signupLoad(base, prefix string, workers, max int, stop <-chan struct{}) (acked []string, failed int) {
	return signupLoadStatus(base, prefix, workers, max, stop, 10*time.Second, nil)
}

// signupLoadStatus is signupLoad whose requests may take up to timeout
// and that also reports the status of every sign-up post (0 when no
// answer came) to status, when not nil; it is called from the workers'
// goroutines.
func signupLoadStatus(base, prefix string, workers, max int, stop <-chan struct{}, timeout time.Duration, status func(int)) (acked []string, failed int) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		counter atomic.Int64
	)
	fail := func() { mu.Lock(); failed++; mu.Unlock() }
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Timeout: timeout, Jar: jar}
			u, _ := url.Parse(base)
			csrf := func() string {
				for _, c := range jar.Cookies(u) {
					if c.Name == "gh_csrf" {
						return c.Value
					}
				}
				return ""
			}
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
				if csrf() == "" {
					res, err := hc.Get(base + "/t/default/signup")
					if err != nil {
						fail()
						time.Sleep(20 * time.Millisecond)
						continue
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				email := fmt.Sprintf("%s-%d-%d@example.com", prefix, w, n)
				res, err := hc.PostForm(base+"/t/default/signup", url.Values{"email": {email},
					"password": {"correct horse battery staple 7"}, "csrf": {csrf()}})
				if status != nil {
					code := 0
					if err == nil {
						code = res.StatusCode
					}
					status(code)
				}
				if err != nil {
					fail()
					continue
				}
				page, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK && bytes.Contains(page, []byte("We sent a link and a 6-digit code")) {
					mu.Lock()
					acked = append(acked, email)
					mu.Unlock()
				} else {
					fail()
				}
			}
		}()
	}
	wg.Wait()
	return acked, failed
}

// checkAcked fails t unless every acknowledged sign-up is in db whole: the
// user row with a password hash, its user_emails row, its user.create
// audit entry, its email-verification token and its queued mail. Of the
// other sign-ups (in flight at the kill) no user row may lack its email
// row, hash or audit entry; a user without its verification token is
// logged: sign-up writes the user and then, in a second transaction, the
// token and the mail (internal/selfservice SignUp).
func checkAcked(t *testing.T, db *sql.DB, prefix string, acked []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, email := range acked {
		var hash string
		var emails, audits, tokens, mails int
		err := db.QueryRowContext(ctx, `SELECT u.password_hash,
			(SELECT COUNT(*) FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id),
			(SELECT COUNT(*) FROM audit_entries x WHERE x.tenant_id = u.tenant_id AND x.target_id = u.id AND x.action = 'user.create'),
			(SELECT COUNT(*) FROM one_time_tokens o WHERE o.tenant_id = u.tenant_id AND o.user_id = u.id AND o.purpose = 'verify_email'),
			(SELECT COUNT(*) FROM mail_queue m WHERE m.tenant_id = u.tenant_id AND m.to_addr = u.email)
			FROM users u WHERE u.email_norm = $1`, email).Scan(&hash, &emails, &audits, &tokens, &mails)
		if err != nil {
			t.Errorf("acknowledged sign-up %s not in the database: %v", email, err)
			continue
		}
		if !strings.HasPrefix(hash, "$argon2id$") || emails != 1 || audits != 1 || tokens != 1 || mails != 1 {
			t.Errorf("acknowledged sign-up %s half-written: hash %.12q, %d email rows, %d audit entries, %d verification tokens, %d mails",
				email, hash, emails, audits, tokens, mails)
		}
	}
	var half, noToken int
	err := db.QueryRowContext(ctx, `SELECT
		COUNT(*) FILTER (WHERE u.password_hash = ''
		  OR NOT EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id)
		  OR NOT EXISTS (SELECT 1 FROM audit_entries x WHERE x.tenant_id = u.tenant_id AND x.target_id = u.id AND x.action = 'user.create')),
		COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM one_time_tokens o WHERE o.tenant_id = u.tenant_id AND o.user_id = u.id))
		FROM users u WHERE u.email_norm LIKE $1`, prefix+"-%").Scan(&half, &noToken)
	if err != nil {
		t.Fatal(err)
	}
	if half != 0 {
		t.Errorf("%d users in the database are half-written (no hash, email row or audit entry)", half)
	}
	if noToken != 0 {
		t.Logf("%d users of sign-ups in flight at the kill have no verification token (sign-up's second transaction)", noToken)
	}
}

// kill9 sends SIGKILL to n and waits for it to be gone.
func kill9(t *testing.T, n *node) {
	t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGKILLed node still running after 10s")
	}
}

// status answers the HTTP status of GET u, or 0 when nothing answers.
func status(u string) int {
	c := &http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// waitStatus polls GET u until it answers want, for at most d.
func waitStatus(u string, want int, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if status(u) == want {
			return true
		}
	}
	return false
}
