package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"golang.org/x/oauth2"
)

// regionPair is two regions, eu and us, each a database of its own on the
// local PostgreSQL server (created by the test and dropped after it), and
// one node of each. The eu database is also the catalogue (GATEHOUSE_DB),
// as a small deployment shares it with one region.
type regionPair struct {
	euDB, usDB     *sql.DB
	envEU, envUS   []string
	eu, us         *node
	platform       *client // the platform key, through the eu node
	euURL, usURL   string
	euDSN, usDSN   string
	regions, links string
}

func startRegions(t *testing.T) *regionPair {
	t.Helper()
	rp := &regionPair{euDSN: sqltest.PostgresDatabase(t, "region_eu"), usDSN: sqltest.PostgresDatabase(t, "region_us")}
	euPort, usPort := freePort(t), freePort(t)
	rp.euURL, rp.usURL = fmt.Sprintf("http://127.0.0.1:%d", euPort), fmt.Sprintf("http://127.0.0.1:%d", usPort)
	rp.regions = "eu=" + rp.euDSN + ";us=" + rp.usDSN
	rp.links = "eu=" + rp.euURL + ";us=" + rp.usURL
	regionEnv := func(region string, port int) []string {
		return append(testEnv(t.TempDir(), rp.euDSN, testMasterKey),
			"GATEHOUSE_REGIONS="+rp.regions, "GATEHOUSE_REGION="+region, "GATEHOUSE_REGION_URLS="+rp.links,
			fmt.Sprintf("GATEHOUSE_ADDR=127.0.0.1:%d", port), "GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32")
	}
	rp.envEU, rp.envUS = regionEnv("eu", euPort), regionEnv("us", usPort)
	rp.eu = start(t, rp.envEU)
	rp.us = start(t, rp.envUS)
	var err error
	if rp.euDB, err = sql.Open("pgx", rp.euDSN); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.euDB.Close() })
	if rp.usDB, err = sql.Open("pgx", rp.usDSN); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.usDB.Close() })
	// A platform key made with only GATEHOUSE_DB lives in the catalogue
	// and works on every region's nodes.
	catEnv := testEnv(t.TempDir(), rp.euDSN, testMasterKey)
	out, errOut, code := cli(t, catEnv, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create --platform: %s", errOut)
	}
	rp.platform = &client{t: t, base: rp.euURL, token: lastLine(out)}
	return rp
}

// tenantRows counts, in every table of db with a tenant_id column, the rows
// of tenant id, plus its tenants row; it answers the tables that have any.
func tenantRows(t *testing.T, db *sql.DB, id string) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = 'tenant_id'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 40 {
		t.Fatalf("only %d tenant tables: %v", len(tables), tables)
	}
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, id).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n > 0 {
			out[table] = n
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM tenants WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		out["tenants"] = n
	}
	return out
}

// signIn runs a real OAuth client's code flow with the tenant's users
// against the us node (the issuer is the region's URL) and answers its
// tokens.
func signIn(t *testing.T, env []string, base, tenant, email, password string) (*rp, *oauth2.Token) {
	t.Helper()
	r := newRP(t, env, base, tenant)
	return r, r.tokens(email, password)
}

var catalogueRegion = regexp.MustCompile(`^[a-z]+$`)

func catalogued(t *testing.T, db *sql.DB, slug string) (id, region string) {
	t.Helper()
	if err := db.QueryRow(`SELECT id, region FROM tenant_catalogue WHERE slug = $1`, slug).Scan(&id, &region); err != nil {
		t.Fatalf("catalogue entry of %s: %v", slug, err)
	}
	if !catalogueRegion.MatchString(region) {
		t.Fatalf("catalogue region %q", region)
	}
	return id, region
}

// TestRegions: a tenant created with "region":"us" through the eu node
// has every row only in the us database; the eu node redirects its pages
// and proxies its API, discovery and token requests to us.
func TestRegions(t *testing.T) {
	rp := startRegions(t)
	api := rp.platform
	res := api.must(201, "POST", "/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme", "region": "us"})
	if res.Header.Get("Gatehouse-Region") != "us" {
		t.Errorf("creation through eu was not forwarded to us: %v", res.Header)
	}
	id, region := catalogued(t, rp.euDB, "acme")
	if region != "us" {
		t.Fatalf("acme is catalogued in %s", region)
	}
	// Another region's name that does not exist is refused, and a slug
	// taken in one region cannot be created in the other.
	if p := api.must(400, "POST", "/api/v1/tenants", map[string]string{"slug": "nowhere", "name": "N", "region": "ap"}).problem(t); p["field"] != "region" {
		t.Errorf("unknown region: %v", p)
	}
	api.must(409, "POST", "/api/v1/tenants", map[string]string{"slug": "acme", "name": "Again"})
	(&client{t: t, base: rp.usURL, token: api.token}).must(409, "POST", "/api/v1/tenants", map[string]string{"slug": "default", "name": "D"})

	// The API through the eu node is proxied: a user is created in us.
	res = api.must(201, "POST", "/api/v1/tenants/acme/users", map[string]any{
		"email": "ada@acme.test", "password": "correct horse battery", "email_verified": true})
	if res.Header.Get("Gatehouse-Region") != "us" {
		t.Errorf("API call not proxied: %v", res.Header)
	}
	api.must(200, "GET", "/api/v1/tenants/"+id+"/users", nil) // by id as well

	// Discovery through eu is proxied and names the us issuer.
	var meta opMeta
	d, err := http.Get(rp.euURL + "/t/acme/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != 200 || d.Header.Get("Gatehouse-Region") != "us" {
		t.Fatalf("discovery through eu: %d %v", d.StatusCode, d.Header)
	}
	decodeBody(t, d, &meta)
	if meta.Issuer != rp.usURL+"/t/acme" {
		t.Errorf("issuer %q", meta.Issuer)
	}
	// A browser page through eu is redirected to us with the same path.
	req, _ := http.NewRequest("GET", rp.euURL+"/t/acme/account/login?x=1", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusTemporaryRedirect || page.Header.Get("Location") != rp.usURL+"/t/acme/account/login?x=1" {
		t.Fatalf("page through eu: %d to %q", page.StatusCode, page.Header.Get("Location"))
	}

	// A real client signs in (us issuer); the refresh goes through the eu
	// node's token endpoint, proxied.
	client, tok := signIn(t, rp.envUS, rp.usURL, "acme", "ada@acme.test", "correct horse battery")
	euToken := strings.Replace(client.conf.Endpoint.TokenURL, rp.usURL, rp.euURL, 1)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	rreq, _ := http.NewRequest("POST", euToken, strings.NewReader(form.Encode()))
	rreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rreq.SetBasicAuth(url.QueryEscape(client.conf.ClientID), url.QueryEscape(client.conf.ClientSecret))
	refreshed, err := http.DefaultClient.Do(rreq)
	if err != nil {
		t.Fatal(err)
	}
	refreshed.Body.Close()
	if refreshed.StatusCode != 200 || refreshed.Header.Get("Gatehouse-Region") != "us" {
		t.Fatalf("refresh through eu: %d %v", refreshed.StatusCode, refreshed.Header)
	}

	// Every row of acme is in us, none in eu (the catalogue entry, which
	// holds no personal data, is the only trace of it there).
	us := tenantRows(t, rp.usDB, id)
	for _, table := range []string{"tenants", "users", "sessions", "refresh_tokens", "audit_entries", "audit_heads", "signing_keys"} {
		if us[table] == 0 {
			t.Errorf("us has no %s rows of acme: %v", table, us)
		}
	}
	if eu := tenantRows(t, rp.euDB, id); len(eu) > 0 {
		t.Errorf("eu holds rows of the us tenant: %v", eu)
	}
	out, errOut, code := cli(t, rp.envUS, "audit", "verify", "--tenant", "acme")
	if code != 0 || !strings.Contains(out, "audit chain intact") {
		t.Errorf("audit verify in us: %d %s %s", code, out, errOut)
	}
	// The eu node still serves its own tenants itself.
	if r := api.must(200, "GET", "/api/v1/tenants/default", nil); r.Header.Get("Gatehouse-Region") != "" {
		t.Errorf("eu's own tenant was forwarded: %v", r.Header)
	}
}

// TestTenantMove: a tenant of eu with a user, a session and tokens moves
// to us; it keeps its users, their passwords and its audit chain, and eu
// keeps none of its rows.
func TestTenantMove(t *testing.T) {
	rp := startRegions(t)
	api := rp.platform
	api.must(201, "POST", "/api/v1/tenants", map[string]string{"slug": "globex", "name": "Globex"})
	id, region := catalogued(t, rp.euDB, "globex")
	if region != "eu" {
		t.Fatalf("globex in %s", region)
	}
	api.must(201, "POST", "/api/v1/tenants/globex/users", map[string]any{
		"email": "hank@globex.test", "password": "scorpio rising 42", "email_verified": true})
	signIn(t, rp.envEU, rp.euURL, "globex", "hank@globex.test", "scorpio rising 42")
	time.Sleep(2 * time.Second) // the usage meter flushes its counters every second
	before := tenantRows(t, rp.euDB, id)
	if before["users"] != 1 || before["sessions"] == 0 || before["audit_entries"] == 0 {
		t.Fatalf("eu rows before the move: %v", before)
	}
	if out, _, code := cli(t, rp.envEU, "audit", "verify", "--tenant", "globex"); code != 0 {
		t.Fatalf("audit verify before: %s", out)
	}

	out, errOut, code := cli(t, rp.envEU, "tenant", "move", "--tenant", "globex", "--to", "us", "--settle", "2500ms")
	if code != 0 || !strings.Contains(out, "moved globex") || !strings.Contains(out, "from eu to us") {
		t.Fatalf("tenant move: %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("%s", strings.TrimSpace(out))
	if _, region := catalogued(t, rp.euDB, "globex"); region != "us" {
		t.Fatalf("catalogue says %s after the move", region)
	}
	if left := tenantRows(t, rp.euDB, id); len(left) > 0 {
		t.Errorf("eu keeps rows of the moved tenant: %v", left)
	}
	after := tenantRows(t, rp.usDB, id)
	for table, n := range before {
		// The event tables keep moving: deliveries are attempted, and
		// the suspension and resumption of the move are events too.
		if strings.HasPrefix(table, "event") {
			continue
		}
		if after[table] != n {
			t.Errorf("%s: %d rows in eu before, %d in us after", table, n, after[table])
		}
	}
	out, errOut, code = cli(t, rp.envUS, "audit", "verify", "--tenant", "globex")
	if code != 0 || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("audit verify in us: %d %s %s", code, out, errOut)
	}
	// A second move to where it is changes nothing.
	if _, errOut, code := cli(t, rp.envEU, "tenant", "move", "--tenant", "globex", "--to", "us"); code == 0 || !strings.Contains(errOut, "in region us already") {
		t.Errorf("second move: %d %s", code, errOut)
	}
	// The move is on both platform chains.
	for name, db := range map[string]*sql.DB{"eu": rp.euDB, "us": rp.usDB} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM audit_entries WHERE tenant_id = '_platform' AND action = 'tenant.move' AND target_id = $1`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s platform chain: %d tenant.move entries (%v)", name, n, err)
		}
	}
	// The user signs in with the same password, now in us, and the eu
	// node sends the tenant's API there.
	signIn(t, rp.envUS, rp.usURL, "globex", "hank@globex.test", "scorpio rising 42")
	if r := api.must(200, "GET", "/api/v1/tenants/globex/users", nil); r.Header.Get("Gatehouse-Region") != "us" || !strings.Contains(string(r.Body), "hank@globex.test") {
		t.Errorf("users of globex through eu: %v %s", r.Header, r.Body)
	}
}

func decodeBody(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
