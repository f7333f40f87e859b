package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const testMasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// backend is one database the scenario runs on.
type backend struct {
	name string
	db   string // GATEHOUSE_DB ("" = SQLite in the data dir)
	// sqlOpen opens the same database for the tamper step.
	sqlOpen func(dataDir string) (*sql.DB, error)
}

func backends(t *testing.T) []backend {
	bs := []backend{{name: "sqlite", sqlOpen: func(dir string) (*sql.DB, error) {
		return openSQLite(filepath.Join(dir, "gatehouse.db"))
	}}}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") != "" {
		dsn := sqltest.PostgresDSN(t)
		bs = append(bs, backend{name: "postgres", db: dsn, sqlOpen: func(string) (*sql.DB, error) {
			return sql.Open("pgx", dsn)
		}})
	}
	return bs
}

// TestDirectoryThroughHTTP is the directory's acceptance scenario, through the
// real binary: tenants, users, nested groups, search, paging through 1,000
// users, bad input refused with nothing stored, the audit chain verified and
// then caught altered.
func TestDirectoryThroughHTTP(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			directoryScenario(t, b)
		})
	}
}

func directoryScenario(t *testing.T, b backend) {
	dataDir := t.TempDir()
	env := testEnv(dataDir, b.db, testMasterKey)
	n := start(t, env)
	if !eventually(func() bool { return strings.Contains(n.stdout.String(), `Created tenant "default"`) }) {
		t.Errorf("first start did not say how to get in: %q", n.stdout.String())
	}

	// A platform key from the CLI, while the server runs.
	out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %d %s", code, errOut)
	}
	platform := &client{t: t, base: n.URL, token: lastLine(out)}
	if !strings.HasPrefix(platform.token, "gh_ak_") {
		t.Fatalf("token %q", platform.token)
	}

	// Tenants.
	var acme, other map[string]any
	platform.must(201, "POST", "/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"}).json(t, &acme)
	platform.must(201, "POST", "/api/v1/tenants", map[string]string{"slug": "other-co", "name": "Other"}).json(t, &other)
	platform.must(409, "POST", "/api/v1/tenants", map[string]string{"slug": "acme", "name": "Again"})

	var key map[string]any
	platform.must(201, "POST", "/api/v1/tenants/acme/apikeys", map[string]any{"name": "ops", "scopes": []string{"admin"}}).json(t, &key)
	api := &client{t: t, base: n.URL, token: key["token"].(string)}
	var otherKey map[string]any
	platform.must(201, "POST", "/api/v1/tenants/other-co/apikeys", map[string]any{"scopes": []string{"admin"}}).json(t, &otherKey)
	otherAPI := &client{t: t, base: n.URL, token: otherKey["token"].(string)}

	// Users.
	mkUser := func(c *client, body map[string]any) map[string]any {
		var u map[string]any
		c.must(201, "POST", "/api/v1/tenants/acme/users", body).json(t, &u)
		return u
	}
	alice := mkUser(api, map[string]any{"email": "Alice@Example.com", "password": "correct horse battery staple",
		"username": "alice", "given_name": "Alice", "family_name": "Liddell", "locale": "en-GB",
		"attributes": map[string]any{"department": "eng", "level": 3}})
	if alice["has_password"] != true || alice["email"] != "Alice@Example.com" {
		t.Fatalf("alice = %v", alice)
	}
	if strings.Contains(fmt.Sprint(alice), "argon2") {
		t.Fatal("password hash in API output")
	}
	bob := mkUser(api, map[string]any{"email": "bob@example.com", "attributes": map[string]any{"department": "sales"}})
	carol := mkUser(api, map[string]any{"email": "carol@example.com", "status": "disabled"})

	// Nested groups: engineering contains backend; alice in backend, bob in engineering.
	var eng, backendG map[string]any
	api.must(201, "POST", "/api/v1/tenants/acme/groups", map[string]string{"name": "engineering"}).json(t, &eng)
	api.must(201, "POST", "/api/v1/tenants/acme/groups", map[string]string{"name": "backend"}).json(t, &backendG)
	gp := "/api/v1/tenants/acme/groups/"
	api.must(201, "POST", gp+eng["id"].(string)+"/members", map[string]string{"group_id": backendG["id"].(string)})
	api.must(201, "POST", gp+backendG["id"].(string)+"/members", map[string]string{"user_id": alice["id"].(string)})
	api.must(201, "POST", gp+eng["id"].(string)+"/members", map[string]string{"user_id": bob["id"].(string)})
	// A cycle is refused.
	p := api.must(409, "POST", gp+backendG["id"].(string)+"/members", map[string]string{"group_id": eng["id"].(string)}).problem(t)
	if p["type"] != "urn:gatehouse:problem:group-cycle" {
		t.Fatalf("cycle problem = %v", p)
	}
	// Transitive membership of alice.
	var ag struct{ Items []map[string]any }
	api.must(200, "GET", "/api/v1/tenants/acme/users/"+alice["id"].(string)+"/groups?transitive=true", nil).json(t, &ag)
	if names := groupNames(ag.Items); names != "backend,engineering" {
		t.Fatalf("alice's groups = %s", names)
	}

	// Search.
	search := func(q string) []string {
		var l struct{ Items []map[string]any }
		api.must(200, "GET", "/api/v1/tenants/acme/users?"+q, nil).json(t, &l)
		var emails []string
		for _, u := range l.Items {
			emails = append(emails, u["email"].(string))
		}
		sort.Strings(emails)
		return emails
	}
	for q, want := range map[string]string{
		"email=ALICE@example.COM": "Alice@Example.com",
		"username=ALICE":          "Alice@Example.com",
		"status=disabled":         "carol@example.com",
		"group=" + eng["id"].(string) + "&transitive=true": "Alice@Example.com,bob@example.com",
		"group=" + eng["id"].(string):                      "bob@example.com",
		"attr.department=sales":                            "bob@example.com",
		"q=ali":                                            "Alice@Example.com",
		"q=car":                                            "carol@example.com",
	} {
		if got := strings.Join(search(q), ","); got != want {
			t.Errorf("search %s = %s, want %s", q, got, want)
		}
	}

	// ETag / If-Match.
	r := api.must(200, "GET", "/api/v1/tenants/acme/users/"+bob["id"].(string), nil)
	tag := r.Header.Get("ETag")
	api.must(200, "PATCH", "/api/v1/tenants/acme/users/"+bob["id"].(string), map[string]any{"given_name": "Bob"}, "If-Match", tag)
	api.must(412, "PATCH", "/api/v1/tenants/acme/users/"+bob["id"].(string), map[string]any{"given_name": "Robert"}, "If-Match", tag)

	// Isolation: acme's key sees nothing of other-co, and the reverse.
	api.must(404, "GET", "/api/v1/tenants/other-co", nil)
	api.must(404, "GET", "/api/v1/tenants/other-co/users", nil)
	api.must(404, "POST", "/api/v1/tenants/other-co/users", map[string]any{"email": "x@example.com"})
	otherAPI.must(404, "GET", "/api/v1/tenants/acme/users/"+alice["id"].(string), nil)
	otherAPI.must(404, "GET", "/api/v1/tenants/other-co/users/"+alice["id"].(string), nil)
	otherAPI.must(404, "DELETE", "/api/v1/tenants/other-co/users/"+alice["id"].(string), nil)
	api.must(403, "GET", "/api/v1/tenants", nil)

	pageThrough(t, api, 1000)
	badInput(t, api, platform, carol["id"].(string))

	// Audit: the entries name the actor, address and request id, never secrets.
	var creates []map[string]any
	for cursor, pages := "", 0; pages < 10; pages++ {
		var audit struct {
			Items      []map[string]any
			NextCursor string `json:"next_cursor"`
		}
		api.must(200, "GET", "/api/v1/tenants/acme/audit?action=user.create&limit=400&cursor="+cursor, nil).json(t, &audit)
		creates = append(creates, audit.Items...)
		if cursor = audit.NextCursor; cursor == "" {
			break
		}
	}
	if len(creates) != 1003 {
		t.Fatalf("user.create entries = %d, want 1003", len(creates))
	}
	first := creates[len(creates)-1]
	if first["target"].(map[string]any)["id"] != alice["id"] {
		t.Fatalf("oldest user.create entry is not alice's: %v", first)
	}
	if first["actor"].(map[string]any)["id"] != key["id"] || first["client_ip"] != "127.0.0.1" || first["request_id"] == "" {
		t.Fatalf("audit entry = %v", first)
	}
	if all := api.must(200, "GET", "/api/v1/tenants/acme/audit?limit=1000", nil); strings.Contains(string(all.Body), "argon2") ||
		strings.Contains(string(all.Body), "correct horse") {
		t.Fatal("a secret reached the audit log")
	}
	out, errOut, code = cli(t, env, "audit", "verify", "--tenant", "acme")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}

	// Alter one entry in the database: verify names it.
	db, err := b.sqlOpen(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var victimID string
	if err := db.QueryRow(`SELECT id FROM audit_entries WHERE tenant_id = $1 AND seq = 5`, acme["id"]).Scan(&victimID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_entries SET actor_id = 'someone-else' WHERE tenant_id = $1 AND seq = 5`, acme["id"]); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, env, "audit", "verify", "--tenant", "acme")
	if code != 1 || !strings.Contains(errOut, "seq=5") || !strings.Contains(errOut, victimID) {
		t.Fatalf("tampered audit verify: code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var vr map[string]any
	api.must(200, "GET", "/api/v1/tenants/acme/audit/verify", nil).json(t, &vr)
	if vr["intact"] != false || vr["broken_seq"] != float64(5) {
		t.Fatalf("API verify = %v", vr)
	}

	// Operations endpoints.
	anon := &client{t: t, base: n.URL}
	anon.must(200, "GET", "/healthz", nil)
	anon.must(200, "GET", "/readyz", nil)
	m := anon.must(200, "GET", "/metrics", nil)
	if !strings.Contains(string(m.Body), `route="POST /api/v1/tenants/{tenant}/users"`) {
		t.Errorf("metrics lack the users route:\n%.2000s", m.Body)
	}
	if strings.Contains(n.Logs(), platform.token) || strings.Contains(n.Logs(), "correct horse") {
		t.Fatal("a secret reached the logs")
	}
}

func groupNames(items []map[string]any) string {
	var names []string
	for _, g := range items {
		names = append(names, g["name"].(string))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// pageThrough creates n users concurrently, then pages through all users
// of the tenant 100 at a time, checking each appears once, in id order.
func pageThrough(t *testing.T, api *client, n int) {
	var wg sync.WaitGroup
	jobs := make(chan int)
	errs := make(chan string, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := api.do("POST", "/api/v1/tenants/acme/users", map[string]any{"email": fmt.Sprintf("user%04d@example.org", i)})
				if r.Status != 201 {
					errs <- fmt.Sprintf("user %d: %d %s", i, r.Status, r.Body)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	seen := map[string]bool{}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		var l struct {
			Items      []map[string]any
			NextCursor string `json:"next_cursor"`
		}
		api.must(200, "GET", "/api/v1/tenants/acme/users?limit=100&cursor="+cursor, nil).json(t, &l)
		for _, u := range l.Items {
			id := u["id"].(string)
			if seen[id] {
				t.Fatalf("user %s on two pages", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if len(ids) != n+3 {
		t.Fatalf("paged %d users, want %d", len(ids), n+3)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("pages are not in id order")
	}
}

// badInput sends many kinds of bad input; each is refused naming the field
// and changes nothing (the user count and the audit chain stay as they were).
func badInput(t *testing.T, api, platform *client, carolID string) {
	count := func() int {
		var l struct{ Items []any }
		api.must(200, "GET", "/api/v1/tenants/acme/users?q=new", nil).json(t, &l)
		return len(l.Items)
	}
	head := func() string {
		var l struct{ Items []map[string]any }
		api.must(200, "GET", "/api/v1/tenants/acme/audit?limit=1", nil).json(t, &l)
		return l.Items[0]["hash"].(string)
	}
	users0, head0 := count(), head()
	users := "/api/v1/tenants/acme/users"
	long := strings.Repeat("a", 300)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
		hdr                []string
	}{
		{"malformed json", "POST", users, `{"email":`, 400, "", nil},
		{"unknown field", "POST", users, `{"emial":"a@example.com"}`, 400, "emial", nil},
		{"wrong type", "POST", users, `{"email":42}`, 400, "email", nil},
		{"two values", "POST", users, `{"email":"a@example.com"} {}`, 400, "", nil},
		{"missing email", "POST", users, `{}`, 400, "email", nil},
		{"invalid email", "POST", users, `{"email":"not-an-email"}`, 400, "email", nil},
		{"email with name", "POST", users, `{"email":"Eve <eve@example.com>"}`, 400, "email", nil},
		{"email too long", "POST", users, `{"email":"` + long + `@example.com"}`, 400, "email", nil},
		{"duplicate email", "POST", users, `{"email":"ALICE@example.com"}`, 409, "email", nil},
		{"duplicate username", "POST", users, `{"email":"new@example.com","username":"Alice"}`, 409, "username", nil},
		{"short password", "POST", users, `{"email":"new@example.com","password":"short"}`, 400, "password", nil},
		{"common password", "POST", users, `{"email":"new@example.com","password":"password123"}`, 400, "password", nil},
		{"bad username", "POST", users, `{"email":"new@example.com","username":"a b"}`, 400, "username", nil},
		{"bad phone", "POST", users, `{"email":"new@example.com","phone":"12345"}`, 400, "phone", nil},
		{"bad locale", "POST", users, `{"email":"new@example.com","locale":"not a locale!"}`, 400, "locale", nil},
		{"bad status", "POST", users, `{"email":"new@example.com","status":"sleeping"}`, 400, "status", nil},
		{"control chars", "POST", users, `{"email":"new@example.com","given_name":"a\u0000b"}`, 400, "given_name", nil},
		{"name too long", "POST", users, `{"email":"new@example.com","family_name":"` + long + `"}`, 400, "family_name", nil},
		{"attributes not object", "POST", users, `{"email":"new@example.com","attributes":[1,2]}`, 400, "attributes", nil},
		{"attributes too big", "POST", users, `{"email":"new@example.com","attributes":{"x":"` + strings.Repeat("x", 17<<10) + `"}}`, 400, "attributes", nil},
		{"body too large", "POST", users, `{"email":"new@example.com","given_name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "", nil},
		{"wrong content type", "POST", users, `{"email":"new@example.com"}`, 415, "", []string{"Content-Type", "text/plain"}},
		{"bad patch", "PATCH", users + "/" + carolID, `{"status":"gone"}`, 400, "status", nil},
		{"bad cursor", "GET", users + "?cursor=zzz", nil, 400, "cursor", nil},
		{"bad limit", "GET", users + "?limit=5000", nil, 400, "limit", nil},
		{"unknown parameter", "GET", users + "?emali=x", nil, 400, "emali", nil},
		{"empty group name", "POST", "/api/v1/tenants/acme/groups", `{"name":""}`, 400, "name", nil},
		{"member both kinds", "POST", "/api/v1/tenants/acme/groups/" + carolID + "/members", `{}`, 400, "user_id", nil},
		{"bad scope", "POST", "/api/v1/tenants/acme/apikeys", `{"scopes":["root"]}`, 400, "scopes", nil},
		{"weak tenant policy", "PATCH", "/api/v1/tenants/acme", `{"settings":{"password_policy":{"min_length":4,"max_length":64,"reject_common":true}}}`, 400, "settings.password_policy", nil},
	}
	for _, c := range cases {
		r := api.do(c.method, c.path, c.body, c.hdr...)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, ct)
			continue
		}
		p := r.problem(t)
		if c.field != "" && p["field"] != c.field {
			t.Errorf("%s: field %v, want %s (%s)", c.name, p["field"], c.field, r.Body)
		}
		if !strings.HasPrefix(fmt.Sprint(p["type"]), "urn:gatehouse:problem:") || p["detail"] == "" {
			t.Errorf("%s: problem %v", c.name, p)
		}
	}
	// Tenants: slug rules, through the platform key.
	for _, slug := range []string{"API", "admin", "t", "ab", "-abc", "abc-", strings.Repeat("a", 41), "a_b"} {
		r := platform.do("POST", "/api/v1/tenants", map[string]string{"slug": slug, "name": "X"})
		if r.Status != 400 || r.problem(t)["field"] != "slug" {
			t.Errorf("slug %q: %d %s", slug, r.Status, r.Body)
		}
	}
	// Authentication.
	anon := &client{t: t, base: api.base}
	if r := anon.do("GET", users, nil); r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", r.Status)
	}
	forged := &client{t: t, base: api.base, token: "gh_ak_" + strings.Repeat("A", 43)}
	forged.must(401, "GET", users, nil)

	if got := count(); got != users0 {
		t.Errorf("bad input changed the user count: %d -> %d", users0, got)
	}
	if got := head(); got != head0 {
		t.Errorf("bad input wrote audit entries")
	}
}
