package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// privatePG is a PostgreSQL cluster of the test's own, in a temp dir on
// a free port, so it can be stopped and started without touching the
// shared server other tests use.
type privatePG struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	// asUser runs commands as this user (PostgreSQL refuses to run as root).
	asUser string
}

// newPrivatePG runs initdb, or skips the test when PostgreSQL's binaries
// are not installed.
func newPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bin := os.Getenv("GATEHOUSE_TEST_PG_BIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Skipf("no initdb in %s (set GATEHOUSE_TEST_PG_BIN to PostgreSQL's bin directory): %v", bin, err)
	}
	pg := &privatePG{t: t, bin: bin}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.asUser = "postgres"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pg.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	pg.start()
	t.Cleanup(func() { pg.ctl("stop", "-m", "immediate") })
	return pg
}

// DSN is the cluster's postgres database over TCP.
func (pg *privatePG) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func (pg *privatePG) run(prog string, args ...string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(pg.bin, prog)
	var cmd *exec.Cmd
	if pg.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", pg.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		pg.t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

func (pg *privatePG) ctl(args ...string) {
	pg.t.Helper()
	pg.run("pg_ctl", append([]string{"-D", filepath.Join(pg.dir, "data"), "-w", "-t", "30"}, args...)...)
}

func (pg *privatePG) start() {
	pg.t.Helper()
	pg.ctl("-l", filepath.Join(pg.dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir), "start")
}

// TestPostgresRestartUnderLoad: PostgreSQL stops while clients call the
// API; Gatehouse answers not-ready (and errors, not hangs) while it is
// down, keeps running, and recovers by itself once it is back.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a PostgreSQL cluster of its own")
	}
	pg := newPrivatePG(t)
	env := testEnv(t.TempDir(), pg.DSN(), testMasterKey)
	n := start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	token := lastLine(out)
	if s := status(n.URL + "/readyz"); s != 200 {
		t.Fatalf("/readyz before the restart: %d", s)
	}

	// Load: 4 clients list users until stopped (at most 60 s).
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", n.URL+"/api/v1/tenants/default/users?limit=5", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := hc.Do(req)
				if err == nil && res.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
				if err == nil {
					res.Body.Close()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(500 * time.Millisecond)
	if ok.Load() == 0 {
		t.Fatalf("no request succeeded before the restart (%d failed)", failed.Load())
	}

	pg.ctl("stop", "-m", "fast")
	if !waitStatus(n.URL+"/readyz", http.StatusServiceUnavailable, 10*time.Second) {
		t.Fatal("/readyz did not report 503 within 10 s of PostgreSQL stopping")
	}
	if s := status(n.URL + "/healthz"); s != 200 {
		t.Fatalf("/healthz while the database is down: %d (the process should live on)", s)
	}
	failedDown := failed.Load()
	time.Sleep(500 * time.Millisecond)
	if failed.Load() == failedDown {
		t.Error("no request failed while the database was down: the load was not running")
	}

	pg.start()
	restarted := time.Now()
	if !waitStatus(n.URL+"/readyz", http.StatusOK, 30*time.Second) {
		t.Fatalf("/readyz not 200 within 30 s of PostgreSQL's restart\n%s", n.Logs())
	}
	readyAfter := time.Since(restarted)
	// Recovered by itself: writes and reads succeed again, with no restart
	// of Gatehouse.
	api := &client{t: t, base: n.URL, token: token}
	var created bool
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !created; time.Sleep(100 * time.Millisecond) {
		created = api.do("POST", "/api/v1/tenants/default/users", map[string]any{"email": "back@example.com"}).Status == 201
	}
	if !created {
		t.Fatal("no user could be created within 30 s of PostgreSQL's restart")
	}
	okBefore := ok.Load()
	time.Sleep(time.Second)
	failedAfter := failed.Load()
	time.Sleep(time.Second)
	if ok.Load()-okBefore < 10 || failed.Load() != failedAfter {
		t.Errorf("after recovery: %d requests succeeded, %d failed in the last second", ok.Load()-okBefore, failed.Load()-failedAfter)
	}
	t.Logf("ready again %v after PostgreSQL's restart; %d requests succeeded, %d failed in all",
		readyAfter.Round(time.Millisecond), ok.Load(), failed.Load())
}
