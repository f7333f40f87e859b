package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// lockedBuffer is an output a running command writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deployment is the environment of CLI runs against one data dir/database.
type deployment struct {
	t   *testing.T
	env map[string]string
}

func newDeployment(t *testing.T, db string) *deployment {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	env := map[string]string{
		"GATEHOUSE_DATA_DIR":           filepath.Join(t.TempDir(), "data"),
		"GATEHOUSE_ARGON2_MEMORY_KIB":  "1024",
		"GATEHOUSE_ARGON2_ITERATIONS":  "1",
		"GATEHOUSE_ARGON2_PARALLELISM": "1",
		"GATEHOUSE_MASTER_KEY":         base64.StdEncoding.EncodeToString(key),
		"GATEHOUSE_LOG_LEVEL":          "warn",
	}
	if db != "" {
		env["GATEHOUSE_DB"] = db
	}
	return &deployment{t: t, env: env}
}

func (d *deployment) cliEnv(stdout, stderr *lockedBuffer) *cliEnv {
	return &cliEnv{stdout: stdout, stderr: stderr, lookupEnv: func(k string) (string, bool) {
		v, ok := d.env[k]
		return v, ok
	}}
}

// run runs the CLI in-process and answers its outputs and exit status.
func (d *deployment) run(args ...string) (stdout, stderr string, code int) {
	d.t.Helper()
	var out, errOut lockedBuffer
	code = run(context.Background(), d.cliEnv(&out, &errOut), args)
	return out.String(), errOut.String(), code
}

// must runs a command that has to succeed.
func (d *deployment) must(args ...string) string {
	d.t.Helper()
	out, errOut, code := d.run(args...)
	if code != 0 {
		d.t.Fatalf("gatehouse %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs a command that has to fail with code and answers its stderr.
func (d *deployment) fails(code int, args ...string) string {
	d.t.Helper()
	out, errOut, got := d.run(args...)
	if got != code {
		d.t.Fatalf("gatehouse %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
	}
	return errOut
}

// app opens the deployment the way the commands do.
func (d *deployment) app() *server.App {
	d.t.Helper()
	var out, errOut lockedBuffer
	env := d.cliEnv(&out, &errOut)
	fs, l := flagSet(env, "test")
	if err := parse(fs, nil); err != nil {
		d.t.Fatal(err)
	}
	app, err := open(context.Background(), env, l)
	if err != nil {
		d.t.Fatalf("open: %v\n%s", err, errOut.String())
	}
	d.t.Cleanup(func() { app.Close() })
	return app
}

var backendDBs = []struct {
	name string
	db   func(t *testing.T) string
}{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return sqltest.PostgresDSN(t) }},
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestServeHelp(t *testing.T) {
	d := newDeployment(t, "")
	for _, flag := range []string{"--help", "-h"} {
		out, errOut, code := d.run("serve", flag)
		if code != 0 {
			t.Fatalf("serve %s: exit %d\n%s", flag, code, errOut)
		}
		help := out + errOut
		for _, want := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_PUBLIC_URL", "GATEHOUSE_DATA_DIR", "GATEHOUSE_DB",
			"GATEHOUSE_MASTER_KEY", "--addr", "Usage: gatehouse serve"} {
			if !strings.Contains(help, want) && !strings.Contains(help, strings.TrimPrefix(want, "-")) {
				t.Errorf("serve %s does not mention %s:\n%s", flag, want, help)
			}
		}
		if strings.Contains(help, d.env["GATEHOUSE_MASTER_KEY"]) {
			t.Errorf("serve %s prints the master key", flag)
		}
	}
	if _, err := os.Stat(d.env["GATEHOUSE_DATA_DIR"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve --help touched the data dir: %v", err)
	}
}

// TestBadConfig: an invalid setting stops every command before it opens
// anything, with one line naming the setting as the user spelled it.
func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		key     string
		noValue string // must not be echoed
	}{
		{"env addr", map[string]string{"GATEHOUSE_ADDR": "nonsense"}, []string{"serve"}, "GATEHOUSE_ADDR", ""},
		{"flag argon2", nil, []string{"serve", "--argon2-memory-kib=10"}, "--argon2-memory-kib", ""},
		{"env master key", map[string]string{"GATEHOUSE_MASTER_KEY": "c2VjcmV0LXNob3J0LWtleQ"}, []string{"serve"},
			"GATEHOUSE_MASTER_KEY", "c2VjcmV0LXNob3J0LWtleQ"},
		{"env db", map[string]string{"GATEHOUSE_DB": "mysql://root:hunter2@db/x"}, []string{"migrate"}, "GATEHOUSE_DB", "hunter2"},
		{"apikey flag", nil, []string{"apikey", "list", "--platform", "--http-read-timeout=0s"}, "--http-read-timeout", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newDeployment(t, "")
			for k, v := range c.env {
				d.env[k] = v
			}
			out, errOut, code := d.run(c.args...)
			if code == 0 {
				t.Fatalf("exit 0\nstdout: %s\nstderr: %s", out, errOut)
			}
			ls := lines(errOut)
			if len(ls) != 1 || !strings.Contains(ls[0], c.key) {
				t.Errorf("stderr is not one line naming %s:\n%s", c.key, errOut)
			}
			if c.noValue != "" && strings.Contains(out+errOut, c.noValue) {
				t.Errorf("the value is echoed: %s", errOut)
			}
			if _, err := os.Stat(d.env["GATEHOUSE_DATA_DIR"]); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed start touched the data dir: %v", err)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	d := newDeployment(t, "")
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"--version"}, 2},
		{[]string{"help"}, 0},
		{[]string{"--help"}, 0},
		{[]string{"apikey"}, 2},
		{[]string{"apikey", "frobnicate"}, 2},
		{[]string{"tenant"}, 2},
		{[]string{"tenant", "frobnicate"}, 2},
		{[]string{"audit"}, 2},
		{[]string{"audit", "frobnicate"}, 2},
		{[]string{"migrate", "--no-such-flag"}, 2},
		{[]string{"serve", "--no-such-flag"}, 2},
	} {
		out, errOut, code := d.run(c.args...)
		if code != c.code {
			t.Errorf("gatehouse %q: exit %d, want %d\n%s%s", c.args, code, c.code, out, errOut)
		}
		if c.code == 2 && errOut == "" {
			t.Errorf("gatehouse %q: no message", c.args)
		}
	}
	if _, errOut, _ := d.run("frobnicate"); !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "apikey") {
		t.Errorf("unknown command message:\n%s", errOut)
	}
}

func TestMigrate(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			// The plan of an empty database lists every migration and
			// applies none: a second plan lists them again.
			plan := d.must("migrate", "--plan")
			if !strings.HasPrefix(plan, "database is at migration 0 ("+be.name+"); this binary expects ") ||
				!strings.Contains(plan, "would apply 0001_") || strings.Contains(plan, "nothing to apply") {
				t.Fatalf("migrate --plan of an empty database printed %q", plan)
			}
			if again := d.must("migrate", "--plan"); again != plan {
				t.Fatalf("migrate --plan changed the database: %q then %q", plan, again)
			}
			re := regexp.MustCompile(`^database is at migration (\d+) \((sqlite|postgres)\)\n$`)
			first := d.must("migrate")
			m := re.FindStringSubmatch(first)
			if m == nil || m[2] != be.name {
				t.Fatalf("migrate printed %q", first)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 {
				t.Errorf("migration %s", m[1])
			}
			if again := d.must("migrate"); again != first {
				t.Errorf("second migrate printed %q, first %q", again, first)
			}
			if after := d.must("migrate", "--plan"); !strings.HasSuffix(after, "\nnothing to apply\n") ||
				!strings.Contains(after, "database is at migration "+m[1]+" ("+be.name+"); this binary expects "+m[1]+"\n") {
				t.Errorf("migrate --plan after migrate printed %q", after)
			}
		})
	}
}

var tokenRE = regexp.MustCompile(`^gh_ak_[A-Za-z0-9_-]{43}$`)

// createKey runs apikey create and answers the token, checking it is
// alone on the last line of stdout and nowhere on stderr.
func (d *deployment) createKey(args ...string) string {
	d.t.Helper()
	out, errOut, code := d.run(append([]string{"apikey", "create"}, args...)...)
	if code != 0 {
		d.t.Fatalf("apikey create %q: exit %d\n%s", args, code, errOut)
	}
	ls := lines(out)
	if len(ls) == 0 || !tokenRE.MatchString(ls[len(ls)-1]) {
		d.t.Fatalf("apikey create %q: last line of stdout is not a token:\n%q", args, out)
	}
	token := ls[len(ls)-1]
	if strings.Contains(errOut, token) {
		d.t.Errorf("apikey create: the token is on stderr")
	}
	return token
}

type listedKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	Hint      string     `json:"hint"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func (d *deployment) listKeys(who ...string) (raw string, keys []listedKey) {
	d.t.Helper()
	raw = d.must(append([]string{"apikey", "list", "--json"}, who...)...)
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		d.t.Fatalf("apikey list --json: %v\n%s", err, raw)
	}
	return raw, keys
}

// keyState is the STATE column of the table listing for id.
func (d *deployment) keyState(id string, who ...string) string {
	d.t.Helper()
	out := d.must(append([]string{"apikey", "list"}, who...)...)
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) > 0 && f[0] == id {
			return f[len(f)-1]
		}
	}
	d.t.Fatalf("key %s not in the listing:\n%s", id, out)
	return ""
}

func TestAPIKeyLifecycle(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) { testAPIKeyLifecycle(t, be.db(t)) })
	}
}

func testAPIKeyLifecycle(t *testing.T, db string) {
	d := newDeployment(t, db)
	ctx := context.Background()

	out := d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
	if f := strings.Fields(out); len(f) != 2 || f[1] != "acme" {
		t.Fatalf("tenant create printed %q", out)
	}
	d.must("tenant", "create", "--slug", "other-co", "--name", "Other")
	if out := d.must("tenant", "list"); !strings.Contains(out, "acme") || !strings.Contains(out, "other-co") {
		t.Errorf("tenant list:\n%s", out)
	}

	// Create: the token alone on the last line, working for acme only.
	token := d.createKey("--tenant", "acme", "--scopes", "admin", "--name", "ops")
	app := d.app()
	k, err := app.Tenants.AuthenticateAPIKey(ctx, token)
	if err != nil {
		t.Fatalf("the printed token does not authenticate: %v", err)
	}
	acme, _ := app.Tenants.Resolve(ctx, "acme")
	if k.Tenant != acme.ID || len(k.Scopes) != 1 || k.Scopes[0] != "admin" {
		t.Errorf("key %+v, want an admin key of acme", k)
	}

	// List: the key, never the token or its hash.
	raw, keys := d.listKeys("--tenant", "acme")
	if len(keys) != 1 || keys[0].ID != k.ID || keys[0].Name != "ops" || keys[0].ExpiresAt != nil || keys[0].RevokedAt != nil {
		t.Fatalf("apikey list: %s", raw)
	}
	hash := tenancy.HashToken(token)
	for _, bad := range []string{token, token[len(tenancy.TokenPrefix)+4:], `"token"`, `"hash"`,
		hex.EncodeToString(hash), base64.StdEncoding.EncodeToString(hash), base64.RawURLEncoding.EncodeToString(hash)} {
		if strings.Contains(raw, bad) {
			t.Errorf("apikey list --json shows %q:\n%s", bad, raw)
		}
	}
	if !strings.HasPrefix(token, keys[0].Hint) {
		t.Errorf("hint %q is not the token's start", keys[0].Hint)
	}
	if _, keys := d.listKeys("--tenant", "other-co"); len(keys) != 0 {
		t.Errorf("other-co lists acme's key: %+v", keys)
	}
	if st := d.keyState(k.ID, "--tenant", "acme"); st != "active" {
		t.Errorf("state %q, want active", st)
	}

	// A key is managed through its own tenant only.
	d.fails(1, "apikey", "revoke", "--tenant", "other-co", k.ID)
	d.fails(1, "apikey", "expire", "--platform", k.ID)
	if _, err := app.Tenants.AuthenticateAPIKey(ctx, token); err != nil {
		t.Fatalf("a refused revoke ended the key: %v", err)
	}

	// Expire at a future time: still active; then now: expired.
	if out := d.must("apikey", "expire", "--tenant", "acme", "--at", "2099-01-02T03:04:05Z", k.ID); out != "expired "+k.ID+"\n" {
		t.Errorf("apikey expire --at printed %q", out)
	}
	if _, keys := d.listKeys("--tenant", "acme"); keys[0].ExpiresAt == nil || keys[0].ExpiresAt.Year() != 2099 {
		t.Errorf("expires_at after --at: %+v", keys[0])
	}
	if st := d.keyState(k.ID, "--tenant", "acme"); st != "active" {
		t.Errorf("state %q after a future expiry, want active", st)
	}
	d.fails(1, "apikey", "expire", "--tenant", "acme", "--at", "tomorrow", k.ID)
	d.fails(1, "apikey", "expire", "--tenant", "acme")
	if out := d.must("apikey", "expire", "--tenant", "acme", k.ID); out != "expired "+k.ID+"\n" {
		t.Errorf("apikey expire printed %q", out)
	}
	if st := d.keyState(k.ID, "--tenant", "acme"); st != "expired" {
		t.Errorf("state %q, want expired", st)
	}
	if _, keys := d.listKeys("--tenant", "acme"); keys[0].ExpiresAt == nil || keys[0].ExpiresAt.After(time.Now()) {
		t.Errorf("expires_at after expire: %+v", keys[0])
	}
	if _, err := app.Tenants.AuthenticateAPIKey(ctx, token); !errors.Is(err, tenancy.ErrBadToken) {
		t.Errorf("an expired key authenticates: %v", err)
	}

	// Revoke.
	token2 := d.createKey("--tenant", "acme", "--scopes", "read,audit:read")
	_, keys = d.listKeys("--tenant", "acme")
	if len(keys) != 2 {
		t.Fatalf("keys: %+v", keys)
	}
	id2 := keys[0].ID
	if id2 == k.ID {
		id2 = keys[1].ID
	}
	if out := d.must("apikey", "revoke", "--tenant", "acme", id2); out != "revoked "+id2+"\n" {
		t.Errorf("apikey revoke printed %q", out)
	}
	if st := d.keyState(id2, "--tenant", "acme"); st != "revoked" {
		t.Errorf("state %q, want revoked", st)
	}
	if _, err := app.Tenants.AuthenticateAPIKey(ctx, token2); !errors.Is(err, tenancy.ErrBadToken) {
		t.Errorf("a revoked key authenticates: %v", err)
	}
	d.must("apikey", "revoke", "--tenant", "acme", id2) // again: no change, no error
	d.fails(1, "apikey", "revoke", "--tenant", "acme", "not-a-key-id")

	// Both --tenant and --platform, neither, bad scopes: refused, nothing made.
	if errOut := d.fails(1, "apikey", "create", "--tenant", "acme", "--platform", "--scopes", "admin"); !strings.Contains(errOut, "not both") {
		t.Errorf("--tenant with --platform: %s", errOut)
	}
	d.fails(1, "apikey", "create", "--scopes", "admin")
	if errOut := d.fails(1, "apikey", "create", "--tenant", "acme", "--scopes", "root"); !strings.Contains(errOut, "scopes") {
		t.Errorf("bad scope: %s", errOut)
	}
	d.fails(1, "apikey", "create", "--tenant", "nope", "--scopes", "admin")
	if _, keys := d.listKeys("--tenant", "acme"); len(keys) != 2 {
		t.Errorf("refused creates made keys: %+v", keys)
	}
	if _, keys := d.listKeys("--platform"); len(keys) != 0 {
		t.Errorf("refused creates made platform keys: %+v", keys)
	}

	// Platform keys.
	ptoken := d.createKey("--platform", "--scopes", "read")
	if pk, err := app.Tenants.AuthenticateAPIKey(ctx, ptoken); err != nil || pk.Tenant != "_platform" {
		t.Errorf("platform key: %+v, %v", pk, err)
	}
	if _, keys := d.listKeys("--platform"); len(keys) != 1 {
		t.Errorf("platform keys: %+v", keys)
	}

	// The audit chains are intact after all that.
	for _, who := range [][]string{{"--tenant", "acme"}, {"--tenant", "other-co"}, {"--platform"}} {
		out := d.must(append([]string{"audit", "verify"}, who...)...)
		if !regexp.MustCompile(`^audit chain intact: \d+ entries verified\n$`).MatchString(out) {
			t.Errorf("audit verify %v printed %q", who, out)
		}
	}
	if out := d.must("audit", "verify", "--tenant", "acme"); strings.HasPrefix(out, "audit chain intact: 0 ") {
		t.Errorf("acme's chain is empty after key changes: %q", out)
	}
	d.fails(1, "audit", "verify", "--tenant", "nope")
	d.fails(1, "audit", "verify")
}

// TestTenantCreateRefused: reserved, malformed and taken slugs are refused
// with a message naming the slug.
func TestTenantCreateRefused(t *testing.T) {
	d := newDeployment(t, "")
	d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
	for _, slug := range []string{"admin", "api", "default-", "A", "x", "acme"} {
		errOut := d.fails(1, "tenant", "create", "--slug", slug, "--name", "X")
		if !strings.Contains(errOut, "slug") {
			t.Errorf("tenant create --slug %s: message does not name the slug: %s", slug, errOut)
		}
	}
	if errOut := d.fails(1, "tenant", "create", "--slug", "fine-slug"); !strings.Contains(errOut, "name") {
		t.Errorf("tenant create without --name: %s", errOut)
	}
	out := d.must("tenant", "list")
	if n := len(lines(out)); n != 2 { // header and acme
		t.Errorf("tenant list after refusals:\n%s", out)
	}
}

// TestServeBootstrapAndShutdown: serve creates the default tenant, says how
// to get a key, and stops cleanly when its context ends.
func TestServeBootstrapAndShutdown(t *testing.T) {
	d := newDeployment(t, "")
	d.env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	d.env["GATEHOUSE_LOG_LEVEL"] = "info"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, d.cliEnv(&out, &errOut), []string{"serve"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "gatehouse listening") {
		select {
		case code := <-done:
			t.Fatalf("serve ended with %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start\nstderr: %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), `Created tenant "default"`) ||
		!strings.Contains(out.String(), "gatehouse apikey create --tenant default --scopes admin") {
		t.Errorf("bootstrap output:\n%s", out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve after cancel: exit %d\n%s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(out.String()+errOut.String(), d.env["GATEHOUSE_MASTER_KEY"]) {
		t.Error("serve printed the master key")
	}

	// The default tenant now exists for the CLI.
	d.createKey("--tenant", "default", "--scopes", "admin")
	d.must("audit", "verify", "--tenant", "default")

	// A second start does not bootstrap again.
	ctx2, cancel2 := context.WithCancel(context.Background())
	var out2, errOut2 lockedBuffer
	go func() { done <- run(ctx2, d.cliEnv(&out2, &errOut2), []string{"serve"}) }()
	for !strings.Contains(errOut2.String(), "gatehouse listening") && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel2()
	if code := <-done; code != 0 {
		t.Errorf("second serve: exit %d\n%s", code, errOut2.String())
	}
	if strings.Contains(out2.String(), "Created tenant") {
		t.Errorf("second start bootstrapped again:\n%s", out2.String())
	}
}
