package scim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// env is a real server (App.Handler over httptest) with one tenant and a
// scim key for it.
type env struct {
	t      *testing.T
	app    *server.App
	srv    *httptest.Server
	tenant *store.Tenant
	token  string
	base   string
	logs   *bytes.Buffer
}

var actor = events.Actor{Type: "test", ID: "test"}

// forEachDB runs fn on SQLite and, when GATEHOUSE_TEST_POSTGRES_DSN is
// set, on PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			db := ""
			if name == "postgres" {
				db = sqltest.PostgresDSN(t)
			}
			fn(t, newEnv(t, db))
		})
	}
}

func newEnv(t *testing.T, db string) *env {
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
		sqltest.MigratedSQLite(t, path) // a copy: migrating costs a second under -race
	}
	logs := &bytes.Buffer{}
	app, err := server.Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, app: app, srv: srv, logs: logs}
	e.tenant = e.newTenant("acme")
	e.token = e.key(e.tenant.ID, tenancy.ScopeSCIM)
	e.base = "/t/acme/scim/v2"
	return e
}

func (e *env) newTenant(slug string) *store.Tenant {
	e.t.Helper()
	tn, err := e.app.Tenants.CreateTenant(context.Background(), actor, tenancy.NewTenant{Slug: slug, Name: slug})
	if err != nil {
		e.t.Fatal(err)
	}
	return tn
}

func (e *env) key(tenant store.TenantID, scopes ...string) string {
	e.t.Helper()
	_, tok, err := e.app.Tenants.CreateAPIKey(context.Background(), actor, tenant, tenancy.NewAPIKey{Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type resp struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

func (r *resp) String() string { return http.StatusText(r.status) + " " + string(r.body) }

// do sends body (a string is sent as is, anything else as JSON) with the
// env's token, extra headers in pairs.
func (e *env) do(method, path string, rest ...any) *resp {
	e.t.Helper()
	var body any
	var hdr []string
	for i, x := range rest {
		if i == 0 {
			body = x
			continue
		}
		hdr = append(hdr, x.(string))
	}
	return e.doAuth(method, path, body, "Bearer "+e.token, hdr...)
}

func (e *env) doAuth(method, path string, body any, auth string, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		rd = bytes.NewReader(must(json.Marshal(b)))
	}
	if !strings.HasPrefix(path, "/") {
		path = e.base + "/" + path
	}
	rq, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		rq.Header.Set("Content-Type", "application/scim+json")
	}
	if auth != "" {
		rq.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		rq.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(rq)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{status: res.StatusCode, header: res.Header, body: b}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.doc); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" && strings.HasPrefix(path, "/t/") {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return r
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// want checks the status, and for errors the SCIM error body.
func (r *resp) want(t *testing.T, status int, scimType string) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		if s, _ := r.doc["status"].(string); s != http.StatusText(status) && s != itoa(status) {
			t.Errorf("error status field %v, want %d", r.doc["status"], status)
		}
		if got, _ := r.doc["scimType"].(string); got != scimType {
			t.Errorf("scimType %q, want %q (%s)", got, scimType, r.body)
		}
		if d, _ := r.doc["detail"].(string); d == "" || internalPrefix.MatchString(d) {
			t.Errorf("error detail %q is empty or names internals", d)
		}
	}
	return r
}

// internalPrefix matches the package prefixes of Go error texts, which a
// client's error detail never carries.
var internalPrefix = regexp.MustCompile(`(?i)(^|[\s("'])(store|sqlstore|scimfilter|directory|scim|tenancy|sql|pq|sqlite|pgx?|json):`)

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// createUser posts a minimal user and answers its id.
func (e *env) createUser(userName, email string, extra map[string]any) string {
	e.t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName,
		"emails": []any{map[string]any{"value": email, "type": "work", "primary": true}}}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "Users", body).want(e.t, 201, "")
	return r.doc["id"].(string)
}

// ids answers the ids of a list response's resources.
func ids(t *testing.T, r *resp) []string {
	t.Helper()
	rs, _ := r.doc["Resources"].([]any)
	out := []string{}
	for _, x := range rs {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

func dirUser(email string) directory.NewUser { return directory.NewUser{Email: email} }

func dirPatchEmail(email string) directory.UserPatch { return directory.UserPatch{Email: &email} }

func dirPatchStatus(st string) directory.UserPatch { return directory.UserPatch{Status: &st} }
