package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
// own data dirs, the same master key) whose public URL is a round-robin
// proxy in front of both.
func twoNodes(t *testing.T, dsn string) (p *rrProxy, a, b *node, envA, envB []string) {
	t.Helper()
	p = newRRProxy(t)
	envA = append(testEnv(t.TempDir(), dsn, testMasterKey), "GATEHOUSE_PUBLIC_URL="+p.URL)
	envB = append(testEnv(t.TempDir(), dsn, testMasterKey), "GATEHOUSE_PUBLIC_URL="+p.URL)
	ch := make(chan *node, 2)
	go func() { ch <- start(t, envA) }()
	a = <-ch
	go func() { ch <- start(t, envB) }()
	b = <-ch
	p.setTargets(t, a.URL, b.URL)
	return p, a, b, envA, envB
}

// ack is one account creation the server acknowledged with a 2xx.
type ack struct{ id, email string }

// signupLoad creates users with a password through base from workers
// goroutines until stop is closed or max attempts are made, and answers
// every acknowledged creation and how many attempts failed.
func signupLoad(base, token, prefix string, workers, max int, stop <-chan struct{}) (acks []ack, failed int) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		counter atomic.Int64
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
				email := fmt.Sprintf("%s-%d-%d@example.com", prefix, w, n)
				body, _ := json.Marshal(map[string]any{"email": email, "password": "correct horse battery staple 7", "given_name": "Load"})
				req, _ := http.NewRequest("POST", base+"/api/v1/tenants/default/users", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				res, err := hc.Do(req)
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var u struct{ ID string }
				mu.Lock()
				if res.StatusCode/100 == 2 && json.Unmarshal(raw, &u) == nil && u.ID != "" {
					acks = append(acks, ack{id: u.ID, email: email})
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acks, failed
}

// checkAcked fails t unless every acknowledged user is in db whole: its
// row with the email and a password hash, its user_emails row, and its
// user.create audit entry. It also checks that no user row in the tenant
// is half-written (without its email row or its audit entry).
func checkAcked(t *testing.T, db *sql.DB, acks []ack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range acks {
		var email, hash string
		var emails, audits int
		err := db.QueryRowContext(ctx, `SELECT u.email, u.password_hash,
			(SELECT COUNT(*) FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id),
			(SELECT COUNT(*) FROM audit_entries x WHERE x.tenant_id = u.tenant_id AND x.target_id = u.id AND x.action = 'user.create')
			FROM users u WHERE u.id = $1`, a.id).Scan(&email, &hash, &emails, &audits)
		if err != nil {
			t.Errorf("acknowledged user %s (%s) not in the database: %v", a.id, a.email, err)
			continue
		}
		if email != a.email || !strings.HasPrefix(hash, "$argon2id$") || emails != 1 || audits != 1 {
			t.Errorf("acknowledged user %s half-written: email %q, hash %.12q, %d email rows, %d audit entries", a.id, email, hash, emails, audits)
		}
	}
	var half int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users u WHERE u.email LIKE 'load-%'
		AND (u.password_hash = ''
		  OR NOT EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id)
		  OR NOT EXISTS (SELECT 1 FROM audit_entries x WHERE x.tenant_id = u.tenant_id AND x.target_id = u.id AND x.action = 'user.create'))`).Scan(&half)
	if err != nil {
		t.Fatal(err)
	}
	if half != 0 {
		t.Errorf("%d users in the database are half-written", half)
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
