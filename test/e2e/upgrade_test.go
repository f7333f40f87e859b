package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const migrationsDir = "internal/store/sqlstore/migrations/postgres"

// git runs git in the repository and answers its standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %v: %v: %s", args, err, errOut.String())
	}
	return out.String(), nil
}

// schemaAt answers the newest PostgreSQL migration version in commit rev.
func schemaAt(ctx context.Context, repo, rev string) (int, error) {
	out, err := git(ctx, repo, "ls-tree", "--name-only", rev, migrationsDir+"/")
	if err != nil {
		return 0, err
	}
	max := 0
	for _, line := range strings.Fields(out) {
		num, _, _ := strings.Cut(filepath.Base(line), "_")
		if v, err := strconv.Atoi(num); err == nil && v > max {
			max = v
		}
	}
	return max, nil
}

// previousRelease finds the newest commit whose schema is older than this
// binary's (the release a rolling upgrade starts from), exports its tree
// with git archive and builds it. It skips t outside a git checkout with
// that history (a source tarball, a shallow clone).
func previousRelease(t *testing.T) (bin, commit string, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	repo, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	repo = strings.TrimSpace(repo)
	to = sqlstore.SchemaVersion("postgres")
	log, err := git(ctx, repo, "log", "--format=%H", "HEAD", "--", migrationsDir)
	if err != nil {
		t.Skipf("no history: %v", err)
	}
	for _, c := range strings.Fields(log) {
		v, err := schemaAt(ctx, repo, c)
		if err != nil {
			t.Fatal(err)
		}
		if v < to {
			commit, from = c, v
			break
		}
	}
	if commit == "" {
		t.Skipf("no commit with a schema older than %d in this checkout's history (shallow clone?)", to)
	}
	// The build is kept per commit in the user's cache directory: the
	// previous release changes only when the schema does.
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin = filepath.Join(cache, "gatehouse-test", "previous-"+commit[:12]+"-"+runtime.Version())
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, commit, from, to
	}
	dir := t.TempDir()
	archive := exec.CommandContext(ctx, "git", "-C", repo, "archive", "--format=tar", commit)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v", commit, err)
	}
	if err := untar.Wait(); err != nil {
		t.Fatalf("untar: %v", err)
	}
	// The same flags as this build's (TestMain): the dependencies come
	// from the build cache; Gatehouse's own packages compile again.
	tmp := filepath.Join(dir, "gatehouse-previous")
	build := exec.CommandContext(ctx, "go", "build", "-o", tmp, "./cmd/gatehouse")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", commit, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return tmp, commit, from, to
	}
	if err := copyFile(tmp, bin); err != nil {
		t.Logf("keeping the previous release's build: %v", err)
		return tmp, commit, from, to
	}
	return bin, commit, from, to
}

// switchProxy is a round-robin proxy whose targets change while it runs,
// as a load balancer's do while nodes are replaced one by one.
type switchProxy struct {
	URL     string
	targets atomic.Pointer[[]*url.URL]
	next    atomic.Uint64
}

func newSwitchProxy(t *testing.T) *switchProxy {
	t.Helper()
	p := &switchProxy{}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts := *p.targets.Load()
		target := ts[int(p.next.Add(1)%uint64(len(ts)))]
		(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		}}).ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.URL = "http://" + ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *switchProxy) set(nodes ...*node) {
	var us []*url.URL
	for _, n := range nodes {
		u, _ := url.Parse(n.URL)
		us = append(us, u)
	}
	p.targets.Store(&us)
}

// TestRollingUpgrade builds the previous release (the newest commit with
// an older schema), runs two of its nodes on one PostgreSQL database
// behind a round-robin proxy, and replaces them one at a time with this
// build while users sign in through the proxy: the first new node
// migrates the database under the old node still serving. Not one sign-in
// may fail.
func TestRollingUpgrade(t *testing.T) {
	dsn := sqltest.PostgresDatabase(t, "upgrade")
	began := time.Now()
	old, commit, from, to := previousRelease(t)
	t.Logf("previous release %.12s (schema %d) -> this build (schema %d); built in %s", commit, from, to, time.Since(began).Round(time.Second))

	p := newSwitchProxy(t)
	envOf := func() []string {
		return append(testEnv(t.TempDir(), dsn, testMasterKey), "GATEHOUSE_PUBLIC_URL="+p.URL)
	}
	a := startBinary(t, old, envOf())
	b := startBinary(t, old, envOf())
	p.set(a, b)
	out, errOut, code := cli(t, a.env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	api := &client{t: t, base: p.URL, token: lastLine(out)}
	users := mauUsers(api, 8)

	var attempts, failures atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				attempts.Add(1)
				// Each worker signs its own two users in, one at a time: two
				// concurrent attempts at one account race the login
				// throttle's count (flow/throttle.go) and may be held back,
				// which is not what this test is about.
				if err := signInOnce(p.URL, users[2*w+i%2], "correct horse battery staple 7"); err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	// Each phase lasts until ten more sign-ins have run through the
	// proxy (at least a second), however busy the machine is.
	phase := func(what string) {
		t.Logf("%s (%d sign-ins so far)", what, attempts.Load())
		start, deadline := attempts.Load(), time.Now().Add(30*time.Second)
		time.Sleep(time.Second)
		for attempts.Load() < start+10 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	phase("two nodes of the previous release")
	// Node b is replaced: out of the balancer, stopped, the new build
	// started (it migrates the database while a, old, serves).
	p.set(a)
	b.stop()
	b2 := start(t, envOf())
	p.set(a, b2)
	phase("previous and current side by side on the migrated schema")
	p.set(b2)
	a.stop()
	a2 := start(t, envOf())
	p.set(a2, b2)
	phase("two nodes of this build")
	close(stop)
	wg.Wait()
	if n := attempts.Load(); n < 30 {
		t.Fatalf("only %d sign-ins ran: the load did not run", n)
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d sign-ins failed during the rolling upgrade; first: %v", f, attempts.Load(), firstFailure.Load())
	}
	t.Logf("%d sign-ins, none failed, in %s", attempts.Load(), time.Since(began).Round(time.Second))
}

// signInOnce signs email in through the account form at base, as a new
// browser: the page for the CSRF cookie, then the post.
func signInOnce(base, email, password string) error {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Timeout: 10 * time.Second, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(base + "/t/default/account/login")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("login page: %d", res.StatusCode)
	}
	u, _ := url.Parse(base)
	var csrf string
	for _, c := range jar.Cookies(u) {
		if c.Name == "gh_csrf" {
			csrf = c.Value
		}
	}
	res, err = hc.PostForm(base+"/t/default/account/login", url.Values{"identifier": {email}, "password": {password}, "csrf": {csrf}})
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/t/default/account") {
		return fmt.Errorf("sign-in: %d %s %.200s", res.StatusCode, res.Header.Get("Location"), body)
	}
	return nil
}

// copyFile copies an executable through a temporary name, so a reader
// never finds it half written.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	part := to + ".part"
	if err := os.WriteFile(part, b, 0o755); err != nil {
		return err
	}
	return os.Rename(part, to)
}
