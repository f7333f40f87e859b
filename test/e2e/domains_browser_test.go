package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// freeLoopbackPort answers a port free on 127.0.0.1 a moment ago: the
// custom domain test must name the node's address before it starts
// (GATEHOUSE_DEV_RESOLVE points the domain at it).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mappedClient is an HTTP client that dials addr for every name, as a
// DNS record pointing the custom domain at the node would.
func mappedClient(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getBody(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestCustomDomainBrowserLogin: a custom domain registered through the
// API, verified over HTTP (Gatehouse serves its own token, reached
// through GATEHOUSE_DEV_RESOLVE), then served as the tenant at its root:
// discovery with the domain's issuer, a Chromium login on the domain (its
// name mapped to loopback with --host-resolver-rules) and a code
// exchange whose ID token carries that issuer; the /t/{tenant} issuer
// keeps working beside it, an unverified Host is never the tenant's, and
// every change is audited. On each backend.
func TestCustomDomainBrowserLogin(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { customDomainScenario(t, b) })
	}
}

func customDomainScenario(t *testing.T, b backend) {
	const host = "login.acme.test"
	port := freeLoopbackPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := append(testEnv(t.TempDir(), b.db, testMasterKey),
		"GATEHOUSE_ADDR="+addr, "GATEHOUSE_DEV_RESOLVE="+host+"="+addr)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "ada@example.com", "analytical engine 1843"
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
		"email": email, "password": password, "given_name": "Ada", "family_name": "Lovelace", "email_verified": true})

	// 1. Register: pending, with both proofs.
	var d struct {
		Host         string `json:"host"`
		Status       string `json:"status"`
		VerifiedAt   string `json:"verified_at"`
		Verification struct {
			DNSTXT struct{ Name, Value string } `json:"dns_txt"`
			HTTP   struct{ URL, Token string }  `json:"http"`
		} `json:"verification"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/domains", map[string]any{"host": "Login.Acme.Test."}).json(t, &d)
	tok := d.Verification.HTTP.Token
	if d.Host != host || d.Status != "pending" || len(tok) < 40 ||
		d.Verification.HTTP.URL != "http://"+host+"/.well-known/gatehouse-domain/"+tok ||
		d.Verification.DNSTXT.Name != "_gatehouse."+host || d.Verification.DNSTXT.Value != tok {
		t.Fatalf("create answered %+v", d)
	}
	// Hostile input: an IP, the deployment's own host, a taken host, junk.
	for _, bad := range []string{"127.0.0.1", "127.0.0.1:" + fmt.Sprint(port), "localhost", "a..b", "ünï.test"} {
		if r := api.do("POST", "/api/v1/tenants/default/domains", map[string]any{"host": bad}); r.Status != 400 {
			t.Errorf("host %q answered %d %s", bad, r.Status, r.Body)
		}
	}
	api.must(409, "POST", "/api/v1/tenants/default/domains", map[string]any{"host": host})

	// 2. The pending domain answers its token on its own Host only.
	mc := mappedClient(addr)
	if code, body := getBody(t, mc, d.Verification.HTTP.URL); code != 200 || body != tok {
		t.Fatalf("well-known answered %d %q", code, body)
	}
	if code, _ := getBody(t, mc, "http://"+host+"/.well-known/gatehouse-domain/"+tok[:len(tok)-1]+"x"); code != 404 {
		t.Errorf("a wrong token answered %d", code)
	}
	if code, _ := getBody(t, mc, "http://other.acme.test/.well-known/gatehouse-domain/"+tok); code != 404 {
		t.Errorf("the token on another Host answered %d", code)
	}
	// Not verified yet: the Host is not the tenant's.
	if code, _ := getBody(t, mc, "http://"+host+"/.well-known/openid-configuration"); code != 404 {
		t.Fatalf("discovery on the pending domain answered %d", code)
	}

	// 3. A domain that points nowhere fails verification and stays pending.
	api.must(201, "POST", "/api/v1/tenants/default/domains", map[string]any{"host": "nowhere.acme.test"})
	if r := api.do("POST", "/api/v1/tenants/default/domains/nowhere.acme.test/verify", nil); r.Status != 400 ||
		!strings.Contains(string(r.Body), "unverified") {
		t.Fatalf("verify of a domain pointing nowhere: %d %s", r.Status, r.Body)
	}
	if code, _ := getBody(t, mc, "http://nowhere.acme.test/.well-known/openid-configuration"); code != 404 {
		t.Errorf("discovery on an unverified domain answered %d", code)
	}

	// 4. Verify over HTTP.
	api.must(200, "POST", "/api/v1/tenants/default/domains/"+host+"/verify", nil).json(t, &d)
	if d.Status != "verified" || d.VerifiedAt == "" {
		t.Fatalf("verify answered %+v", d)
	}
	if code, _ := getBody(t, mc, d.Verification.HTTP.URL); code != 404 {
		t.Errorf("the well-known token is still served after verification: %d", code)
	}

	// 5. Discovery on the domain: its own issuer, every endpoint on it.
	issuer := "http://" + host
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	rpCtx := gooidc.ClientContext(ctx, mappedClient(addr))
	prov, err := gooidc.NewProvider(rpCtx, issuer)
	if err != nil {
		t.Fatalf("discovery on %s: %v\n%s", host, err, n.Logs())
	}
	var meta map[string]any
	if err := prov.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"} {
		if v, _ := meta[k].(string); !strings.HasPrefix(v, issuer+"/") || strings.Contains(v, "/t/") {
			t.Errorf("%s = %q, want under %s at the root", k, v, issuer)
		}
	}
	// The /t/{tenant} issuer keeps working beside it.
	pathProv, err := gooidc.NewProvider(ctx, n.URL+"/t/default")
	if err != nil {
		t.Fatalf("discovery at /t/default: %v", err)
	}
	_ = pathProv
	// Another tenant's prefix is not served on this tenant's domain.
	if code, _ := getBody(t, mc, issuer+"/t/other/.well-known/openid-configuration"); code != 404 {
		t.Errorf("another tenant's prefix on the domain answered %d", code)
	}

	// 6. A Chromium login on the domain.
	cbs := newBrowserCallbacks(t)
	rp := newBrowserRP(t, env, prov, "Acme Portal", cbs.srv.URL+"/cb1")
	exe := chromiumPath(t)
	bctx := newBrowser(t, ctx, exe,
		chromedp.Flag("host-resolver-rules", "MAP "+host+" "+addr+", MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"))
	a := rp.request()
	if !strings.HasPrefix(a.URL, issuer+"/authorize?") {
		t.Fatalf("authorization URL %s is not on the domain", a.URL)
	}
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(a.URL))
	if err != nil {
		t.Fatalf("navigate to authorize: %v", err)
	}
	if res.Status != http.StatusOK || !strings.HasPrefix(res.URL, issuer+"/login?") {
		t.Fatalf("authorize ended at %d %s", res.Status, res.URL)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	res, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil {
		t.Fatalf("submit the login form: %v\n%s", err, n.Logs())
	}
	q := cbs.wait(t, ctx, "/cb1")
	if q.Get("code") == "" || q.Get("state") != a.State || q.Get("iss") != issuer {
		t.Fatalf("callback got %v (ended at %d %s)", q, res.Status, res.URL)
	}
	// The session cookie is the domain's, for its whole root.
	got, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{issuer + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	cookies := got.Cookies
	found := false
	for _, c := range cookies {
		if strings.HasPrefix(c.Name, "gh_session_") {
			found = true
			if c.Domain != host || c.Path != "/" {
				t.Errorf("session cookie %s on %s path %s, want %s /", c.Name, c.Domain, c.Path, host)
			}
		}
	}
	if !found {
		t.Errorf("no session cookie on %s: %+v", host, cookies)
	}

	// 7. The code exchange on the domain: the ID token carries its issuer.
	idt, c := rp.redeem(t, rpCtx, a, q.Get("code"))
	if idt.Issuer != issuer || c.Email != email {
		t.Fatalf("ID token issuer %q email %q", idt.Issuer, c.Email)
	}
	tok2, err := rp.conf.Exchange(rpCtx, q.Get("code"), oauth2.VerifierOption(a.Verifier))
	if err == nil {
		t.Errorf("a code redeemed twice: %v", tok2)
	}

	// 8. SAML and SCIM on the domain name it in their URLs.
	code, md := getBody(t, mc, issuer+"/saml/metadata")
	if code != 200 || !strings.Contains(md, `entityID="`+issuer+`/saml/metadata"`) ||
		!strings.Contains(md, `Location="`+issuer+`/saml/sso"`) || strings.Contains(md, "/t/default") {
		t.Errorf("SAML metadata on the domain: %d\n%.600s", code, md)
	}
	scimOut, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "scim")
	req, _ := http.NewRequest(http.MethodGet, issuer+"/scim/v2/Users?filter="+
		"userName%20eq%20%22"+email+"%22", nil)
	req.Header.Set("Authorization", "Bearer "+lastLine(scimOut))
	sres, err := mc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var users struct {
		Resources []struct {
			Meta struct {
				Location string `json:"location"`
			} `json:"meta"`
		} `json:"Resources"`
	}
	_ = json.NewDecoder(sres.Body).Decode(&users)
	sres.Body.Close()
	if sres.StatusCode != 200 || len(users.Resources) != 1 ||
		!strings.HasPrefix(users.Resources[0].Meta.Location, issuer+"/scim/v2/Users/") {
		t.Errorf("SCIM on the domain: %d %+v", sres.StatusCode, users)
	}

	// 9. Audited; removal stops the domain being served.
	audit := string(api.must(200, "GET", "/api/v1/tenants/default/audit?limit=100", nil).Body)
	for _, action := range []string{"custom_domain.create", "custom_domain.verify"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit has no %s", action)
		}
	}
	api.must(204, "DELETE", "/api/v1/tenants/default/domains/"+host, nil)
	if code, _ := getBody(t, mc, issuer+"/.well-known/openid-configuration"); code != 404 {
		t.Errorf("discovery on a removed domain answered %d", code)
	}
	api.must(404, "GET", "/api/v1/tenants/default/domains/"+host, nil)
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/domains", nil).json(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("domains after removal: %d", len(list.Items))
	}
	if !strings.Contains(string(api.must(200, "GET", "/api/v1/tenants/default/audit?limit=100", nil).Body), "custom_domain.delete") {
		t.Error("audit has no custom_domain.delete")
	}
}
