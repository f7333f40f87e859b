package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// backends are SQLite always and PostgreSQL when GATEHOUSE_TEST_POSTGRES_DSN
// is set (the subtest skips otherwise). Both start migrated (newEnv copies
// a migrated SQLite file; the PostgreSQL database is a copy of a migrated
// template): migrating from empty costs a second per test under -race.
var backends = []struct {
	name string
	db   func(t *testing.T) string
}{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return sqltest.MigratedPostgresDSN(t) }},
}

// forEachBackend runs fn once per backend as parallel subtests, which
// share nothing: each serves its own App on its own database.
func forEachBackend(t *testing.T, fn func(t *testing.T, db string)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			fn(t, be.db(t))
		})
	}
}

// forEachBackendInTurn runs fn once per backend, one after the other, for
// tests that measure the process (its CPU time).
func forEachBackendInTurn(t *testing.T, fn func(t *testing.T, db string)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { fn(t, be.db(t)) })
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is the app's clock, moved by tests.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// env is a served App on a real port (its public URL is the address the
// tests reach, so absolute redirects work), bootstrapped as serve does.
type env struct {
	*server.App
	t     *testing.T
	url   string
	logs  *syncBuffer
	out   string // what Bootstrap printed
	clock *clock
}

var testActor = events.Actor{Type: "test", ID: "test"}

func newEnv(t *testing.T, db string) *env {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.PublicURL = "http://127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DB = db
	cfg.Argon2 = config.Argon2Config{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(key))
	if driver, path := cfg.DSN(); driver == "sqlite" {
		sqltest.MigratedSQLite(t, path) // a copy: migrating costs a second under -race
	}
	ln, cfg, err := server.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{at: time.Now().UTC()}
	app, err := server.OpenWith(context.Background(), cfg, log, server.Options{Now: clk.now})
	if err != nil {
		ln.Close()
		t.Fatalf("server.Open: %v", err)
	}
	t.Cleanup(func() { app.Close() })
	var out bytes.Buffer
	if err := app.Bootstrap(context.Background(), &out); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	srv := &http.Server{Handler: app.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &env{App: app, t: t, url: cfg.PublicURL, logs: logs, out: out.String(), clock: clk}
}

func (e *env) tenant(slug string) *store.Tenant {
	e.t.Helper()
	t, err := e.Tenants.Resolve(context.Background(), slug)
	if err != nil {
		e.t.Fatalf("tenant %s: %v", slug, err)
	}
	return t
}

// user creates a user of slug with password holding roles (by name).
func (e *env) user(slug, email, password string, roles ...string) *store.User {
	e.t.Helper()
	ctx := context.Background()
	t := e.tenant(slug)
	u, err := e.Directory.CreateUser(ctx, testActor, t.ID, directory.NewUser{Email: email, Password: &password, EmailVerified: true})
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	for _, r := range roles {
		if _, _, err := e.Authz.AssignUser(ctx, testActor, t.ID, u.ID, r); err != nil {
			e.t.Fatalf("AssignUser(%s, %s): %v", email, r, err)
		}
	}
	return u
}

// browser is one browser: a cookie jar, redirects not followed.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
	lang string
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, base: e.url, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
	url    string
}

func (p page) location() string { return p.header.Get("Location") }

func (b *browser) send(req *http.Request) page {
	b.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(raw), url: req.URL.String()}
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.base + path
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// post sends form; hdr are extra header name/value pairs.
func (b *browser) post(path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.send(req)
}

// follow GETs path and follows redirects (at most 10) to the last answer.
func (b *browser) follow(path string) page {
	b.t.Helper()
	p := b.get(path)
	for i := 0; i < 10 && p.status >= 300 && p.status < 400; i++ {
		next, err := url.Parse(p.url)
		if err != nil {
			b.t.Fatal(err)
		}
		loc, err := next.Parse(p.location())
		if err != nil {
			b.t.Fatal(err)
		}
		p = b.get(loc.String())
	}
	return p
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: %d, no CSRF token in the page:\n%s", p.url, p.status, p.body)
	}
	return m[1]
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// signIn signs b in on slug's account page, then opens the console there
// (/admin for the admin tenant), which signs in through the tenant's
// OpenID provider; it answers the console page reached.
func (b *browser) signIn(slug, email, password, console string) page {
	b.t.Helper()
	login := b.get("/t/" + slug + "/account/login")
	p := b.post("/t/"+slug+"/account/login", form("csrf", csrfOf(b.t, login), "identifier", email, "password", password))
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("account sign-in of %s: %d %s\n%s", email, p.status, p.location(), p.body)
	}
	return b.follow(console)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// cursorOf is the console's (and the API's) cursor after id.
func cursorOf(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
