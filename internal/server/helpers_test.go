package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// syncBuffer is a log sink shared by the server's goroutines.
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

// backend is a database a test runs on.
type backend struct {
	name string
	db   func(t *testing.T) string // the config DB value
}

// backends are SQLite always and PostgreSQL when GATEHOUSE_TEST_POSTGRES_DSN
// is set (the subtest skips otherwise). Both start migrated: testConfig
// copies a migrated SQLite file, and the PostgreSQL database is a copy of
// a migrated template (sqltest.MigratedPostgresDSN), since migrating from
// empty costs over a second per test under the race detector.
var backends = []backend{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return sqltest.MigratedPostgresDSN(t) }},
}

// forEachBackend runs fn once per backend as parallel subtests, which
// share nothing: each opens its own App, data directory and database. The
// test's own body must not expect them to have run when forEachBackend
// returns (parallel subtests run after it).
func forEachBackend(t *testing.T, fn func(t *testing.T, be backend)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

// forEachBackendInTurn runs fn once per backend as subtests one after the
// other, for tests that set process-wide state (the tracer provider) or
// hold one request's time to a bound within 100 ms of another's
// (TestHookTimeout), which the other backend's work would upset.
func forEachBackendInTurn(t *testing.T, fn func(t *testing.T, be backend)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { fn(t, be) })
	}
}

// testApp is an opened App served by an httptest server, logging to logs.
type testApp struct {
	*App
	t    *testing.T
	srv  *httptest.Server
	logs *syncBuffer
}

func testConfig(t *testing.T, db string) config.Config {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DB = db
	cfg.Argon2 = config.Argon2Config{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(key))
	cfg.PublicURL = "http://127.0.0.1"
	if driver, path := cfg.DSN(); driver == "sqlite" {
		// A copy of a migrated database: migrating from empty costs over
		// a second per test under the race detector (sqltest.MigratedSQLite).
		sqltest.MigratedSQLite(t, path)
	}
	return cfg
}

// openApp opens an App on cfg and serves its Handler; both end at cleanup.
func openApp(t *testing.T, cfg config.Config, opts ...Options) *testApp {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	app, err := OpenWith(context.Background(), cfg, log, o)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	t.Cleanup(func() { app.Close() })
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return &testApp{App: app, t: t, srv: srv, logs: logs}
}

func newTestApp(t *testing.T, be backend) *testApp {
	t.Helper()
	return openApp(t, testConfig(t, be.db(t)))
}

var testActor = events.Actor{Type: "test", ID: "test"}

// key creates an API key of tenant (store.PlatformTenant for a platform
// key) and answers its token.
func (ta *testApp) key(tenant store.TenantID, scopes ...string) string {
	ta.t.Helper()
	_, token := ta.keyWithID(tenant, scopes...)
	return token
}

func (ta *testApp) keyWithID(tenant store.TenantID, scopes ...string) (id, token string) {
	ta.t.Helper()
	k, token, err := ta.Tenants.CreateAPIKey(context.Background(), testActor, tenant, tenancy.NewAPIKey{Scopes: scopes})
	if err != nil {
		ta.t.Fatalf("CreateAPIKey(%s, %v): %v", tenant, scopes, err)
	}
	return k.ID, token
}

func (ta *testApp) tenant(slug string) *store.Tenant {
	ta.t.Helper()
	tn, err := ta.Tenants.CreateTenant(context.Background(), testActor, tenancy.NewTenant{Slug: slug, Name: "Tenant " + slug})
	if err != nil {
		ta.t.Fatalf("CreateTenant(%s): %v", slug, err)
	}
	return tn
}

func (ta *testApp) user(tenant store.TenantID, email string) *store.User {
	ta.t.Helper()
	u, err := ta.Directory.CreateUser(context.Background(), testActor, tenant, directory.NewUser{Email: email})
	if err != nil {
		ta.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func (ta *testApp) group(tenant store.TenantID, name string) *store.Group {
	ta.t.Helper()
	g, err := ta.Directory.CreateGroup(context.Background(), testActor, tenant, directory.NewGroup{Name: name})
	if err != nil {
		ta.t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

// client registers a confidential client of tenant (it has a secret).
func (ta *testApp) client(tenant store.TenantID, name string) *store.Client {
	ta.t.Helper()
	c, _, err := ta.Clients.CreateClient(context.Background(), testActor, tenant, oauthclient.NewClient{
		Name: name, RedirectURIs: []string{"https://app.example.com/cb"}})
	if err != nil {
		ta.t.Fatalf("CreateClient(%s): %v", name, err)
	}
	return c
}

func (ta *testApp) addMember(tenant store.TenantID, groupID, userID string) {
	ta.t.Helper()
	if err := ta.Directory.AddMember(context.Background(), testActor, tenant, groupID,
		store.Member{Type: store.MemberUser, ID: userID}); err != nil {
		ta.t.Fatalf("AddMember: %v", err)
	}
}

// response is a read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) String() string {
	return http.StatusText(r.status) + " " + strings.TrimSpace(string(r.body))
}

// problem decodes an application/problem+json answer.
func (r *response) problem(t *testing.T) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json (%s)", ct, r)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	return p
}

// request is one call to the served handler.
type request struct {
	method, path string
	// auth is the whole Authorization header; empty sends none.
	auth   string
	body   any
	header map[string]string
}

// rawBody is a request body sent as it is, with its content type, where
// JSON does not fit (a multipart upload).
type rawBody struct {
	contentType string
	data        []byte
}

func (ta *testApp) do(rq request) *response {
	ta.t.Helper()
	var body io.Reader
	contentType := "application/json"
	if raw, ok := rq.body.(rawBody); ok {
		body, contentType = bytes.NewReader(raw.data), raw.contentType
	} else if rq.body != nil {
		b, err := json.Marshal(rq.body)
		if err != nil {
			ta.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(rq.method, ta.srv.URL+rq.path, body)
	if err != nil {
		ta.t.Fatal(err)
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	res, err := ta.srv.Client().Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ta.t.Fatalf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// get is a GET with a bearer token ("" for none).
func (ta *testApp) get(path, token string) *response {
	ta.t.Helper()
	rq := request{method: http.MethodGet, path: path}
	if token != "" {
		rq.auth = "Bearer " + token
	}
	return ta.do(rq)
}

// deviceGrant stores a live device-flow refresh token of userID at
// clientID, as the device flow leaves it, and answers its grant id.
func (ta *testApp) deviceGrant(tenant store.TenantID, clientID, userID string) string {
	ta.t.Helper()
	raw := make([]byte, 16)
	rand.Read(raw)
	family := "dc_" + hex.EncodeToString(raw)
	now := time.Now()
	err := ta.DB.OAuth().Tokens().CreateRefreshToken(context.Background(), &store.RefreshToken{
		ID: uuid.NewString(), Tenant: tenant, Hash: raw, FamilyID: family, ClientID: clientID, UserID: userID,
		Kind: store.GrantDevice, Scopes: []string{"openid", "offline_access"}, AuthTime: now, AMR: []string{"pwd"},
		ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		ta.t.Fatalf("device grant: %v", err)
	}
	return family
}
