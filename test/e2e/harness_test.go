// Package e2e drives the real gatehouse binary over HTTP and its CLI, on
// SQLite and, when GATEHOUSE_TEST_POSTGRES_DSN is set, on PostgreSQL.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one running gatehouse process.
type node struct {
	t      *testing.T
	cmd    *exec.Cmd
	env    []string
	URL    string
	stdout *syncBuffer
	mu     sync.Mutex
	logs   bytes.Buffer
	// exited is closed when the process has ended; exitErr is its status.
	exited  chan struct{}
	exitErr error
}

// testEnv is the environment of every process of one deployment: small
// argon2 parameters keep the suite fast (the defaults are benchmarked).
func testEnv(dataDir, db, masterKey string) []string {
	env := append(os.Environ(),
		"GATEHOUSE_DATA_DIR="+dataDir,
		"GATEHOUSE_ADDR=127.0.0.1:0",
		"GATEHOUSE_ARGON2_MEMORY_KIB=1024",
		"GATEHOUSE_ARGON2_ITERATIONS=1",
		"GATEHOUSE_LOG_LEVEL=info",
	)
	if db != "" {
		env = append(env, "GATEHOUSE_DB="+db)
	}
	if masterKey != "" {
		env = append(env, "GATEHOUSE_MASTER_KEY="+masterKey)
	}
	return env
}

// start runs `gatehouse serve` and waits until it listens.
func start(t *testing.T, env []string, args ...string) *node {
	t.Helper()
	return startBinary(t, binary, env, args...)
}

// startBinary is start with another gatehouse binary (an older release).
func startBinary(t *testing.T, bin string, env []string, args ...string) *node {
	t.Helper()
	n := &node{t: t, env: env, stdout: &syncBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	n.cmd.Env = env
	n.cmd.Stdout = n.stdout
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			n.mu.Lock()
			n.logs.Write(line)
			n.logs.WriteByte('\n')
			n.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "gatehouse listening" {
				addr <- rec.Addr
			}
		}
	}()
	go func() {
		n.exitErr = n.cmd.Wait()
		close(n.exited)
	}()
	select {
	case a := <-addr:
		n.URL = "http://" + a
	case <-n.exited:
		t.Fatalf("gatehouse exited before listening: %v\n%s", n.exitErr, n.Logs())
	case <-time.After(60 * time.Second):
		n.cmd.Process.Kill()
		t.Fatalf("gatehouse did not listen within 60s\n%s", n.Logs())
	}
	t.Cleanup(func() { n.stop() })
	return n
}

// Logs returns what the process logged so far.
func (n *node) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// stop sends SIGTERM and waits for the exit (killing after 30s).
func (n *node) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// cli runs a gatehouse command with the deployment's environment.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// client calls the API with a bearer token.
type client struct {
	t     *testing.T
	base  string
	token string
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body.
func (r resp) problem(t *testing.T) map[string]any {
	t.Helper()
	var p map[string]any
	r.json(t, &p)
	return p
}

func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// must calls do and fails unless the status is want.
func (c *client) must(want int, method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond for up to 5 seconds.
func eventually(cond func() bool) bool { return eventuallyWithin(5*time.Second, cond) }

// eventuallyWithin polls cond every 20 ms until it holds or d has passed.
func eventuallyWithin(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// openSQLite opens a running server's SQLite file from the test with the
// server's own busy timeout, so a test's read or tamper step waits for the
// server's background writers (outbox, meter, mail) instead of failing with
// SQLITE_BUSY.
func openSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
}
