package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// setupOIDC starts a server on SQLite and makes an admin key for the
// default tenant; it answers the node, its environment (for the CLI) and an
// API client with that key.
func setupOIDC(t *testing.T) (n *node, env []string, api *client) {
	t.Helper()
	env = testEnv(t.TempDir(), "", testMasterKey)
	n = start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	return n, env, &client{t: t, base: n.URL, token: lastLine(out)}
}

// mkUser creates a user in the default tenant through the API with the
// given fields and answers its id.
func mkUser(api *client, fields map[string]any) string {
	api.t.Helper()
	var u map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/users", fields).json(api.t, &u)
	id, _ := u["id"].(string)
	return id
}

// deployment is one running server on one backend, with a platform key.
type deployment struct {
	b       backend
	dataDir string
	env     []string
	n       *node
	base    string
	// platformKey is an API key with the platform admin scope.
	platformKey string
}

// deploy starts a server on b and makes a platform admin key.
func deploy(t *testing.T, b backend) *deployment {
	t.Helper()
	dataDir := t.TempDir()
	env := testEnv(dataDir, b.db, testMasterKey)
	n := start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create --platform: %s", errOut)
	}
	return &deployment{b: b, dataDir: dataDir, env: env, n: n, base: n.URL, platformKey: lastLine(out)}
}

// platform is an API client with the platform key, failing t.
func (d *deployment) platform(t *testing.T) *client {
	return &client{t: t, base: d.base, token: d.platformKey}
}

// user creates a verified user in tenant and answers its id.
func (d *deployment) user(t *testing.T, tenant, email, password string) string {
	t.Helper()
	var u map[string]any
	d.platform(t).must(201, "POST", "/api/v1/tenants/"+tenant+"/users", map[string]any{
		"email": email, "password": password, "given_name": "Test", "family_name": "User", "email_verified": true,
	}).json(t, &u)
	id, _ := u["id"].(string)
	return id
}

// tenant creates a tenant through the API with the platform key.
func (d *deployment) tenant(t *testing.T, slug string) {
	t.Helper()
	d.platform(t).must(201, "POST", "/api/v1/tenants", map[string]string{"slug": slug, "name": slug})
}

// rp registers a client (see newRP) whose token requests authenticate with
// client_secret_basic only, so one failure is one request.
func (d *deployment) rp(t *testing.T, tenant string, extra ...string) *rp {
	t.Helper()
	r := newRP(t, d.env, d.base, tenant, extra...)
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return r
}

// opMeta is what a tenant's discovery document says.
type opMeta struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
	Revocation    string `json:"revocation_endpoint"`
	UserInfo      string `json:"userinfo_endpoint"`
	EndSession    string `json:"end_session_endpoint"`
	JWKS          string `json:"jwks_uri"`
}

func (d *deployment) discover(t *testing.T, tenant string) opMeta {
	t.Helper()
	res, err := http.Get(d.base + "/t/" + tenant + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m opMeta
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || m.Token == "" {
		t.Fatalf("discovery of %s: %v %+v", tenant, err, m)
	}
	return m
}

// jwks fetches a key set.
func jwks(t *testing.T, uri string) jose.JSONWebKeySet {
	t.Helper()
	res, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks %s: %v", uri, err)
	}
	return set
}

// registered creates a client through the CLI with exactly args and answers
// its id and secret.
func registered(t *testing.T, env []string, tenant string, args ...string) (id, secret string) {
	t.Helper()
	out, errOut, code := cli(t, env, append([]string{"client", "create", "--tenant", tenant, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("client create %v: %s", args, errOut)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &c); err != nil {
		t.Fatalf("client create output %q: %v", out, err)
	}
	return c.ClientID, c.ClientSecret
}

// freeRedirect is a loopback callback URL nobody listens on.
func freeRedirect(t *testing.T, path string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String() + path
}

// oauthResp is an answer of a token, introspection, revocation or userinfo
// endpoint.
type oauthResp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// errCode is the OAuth "error" member, or "" when there is none.
func (r oauthResp) errCode() string {
	s, _ := r.Body["error"].(string)
	return s
}

func (r oauthResp) str(k string) string {
	s, _ := r.Body[k].(string)
	return s
}

// send does a request without following redirects and decodes a JSON body.
func send(t *testing.T, req *http.Request) oauthResp {
	t.Helper()
	r, err := trySend(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// trySend is send for goroutines other than the test's.
func trySend(req *http.Request) (oauthResp, error) {
	res, err := noFollow.Do(req)
	if err != nil {
		return oauthResp{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := oauthResp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out, nil
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// postForm posts form to endpoint, with client_secret_basic when id is set.
func postForm(t *testing.T, endpoint string, form url.Values, id, secret string) oauthResp {
	t.Helper()
	r, err := tryPostForm(endpoint, form, id, secret)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	return r
}

// tryPostForm is postForm for goroutines other than the test's.
func tryPostForm(endpoint string, form url.Values, id, secret string) (oauthResp, error) {
	req, err := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return oauthResp{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return trySend(req)
}

// bearerGet calls endpoint (userinfo) with a bearer token.
func bearerGet(t *testing.T, endpoint, token string) oauthResp {
	t.Helper()
	req, err := http.NewRequest("GET", endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, req)
}

// get fetches u without following redirects.
func get(t *testing.T, c *http.Client, u string) oauthResp {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		return send(t, req)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := oauthResp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// introspect asks whether token is active, authenticating as id/secret.
func introspect(t *testing.T, m opMeta, token, id, secret string) oauthResp {
	t.Helper()
	r := postForm(t, m.Introspection, url.Values{"token": {token}}, id, secret)
	if r.Status != http.StatusOK {
		t.Fatalf("introspection: %d %s", r.Status, r.Raw)
	}
	return r
}

func active(r oauthResp) bool { a, _ := r.Body["active"].(bool); return a }

// grant is the outcome of one authorization-code flow.
type grant struct {
	code, verifier, state string
	query                 url.Values
}

// code runs the browser through authorize (logging in when asked) with
// PKCE S256 and answers the code.
func (r *rp) code(user, password string, opts ...oauth2.AuthCodeOption) grant {
	r.t.Helper()
	v := oauth2.GenerateVerifier()
	st := "st-" + v[:10]
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), gooidc.Nonce("n-" + v[10:20])}, opts...)
	q := r.authorize(r.conf.AuthCodeURL(st, opts...), user, password)
	if q.Get("code") == "" || q.Get("state") != st {
		r.t.Fatalf("authorization response %v", q)
	}
	return grant{code: q.Get("code"), verifier: v, state: st, query: q}
}

// tokens runs a whole flow and exchanges the code.
func (r *rp) tokens(user, password string, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	r.t.Helper()
	g := r.code(user, password, opts...)
	tok, err := r.conf.Exchange(context.Background(), g.code, oauth2.VerifierOption(g.verifier))
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// exchangeForm is the token request of a code, by hand.
func (r *rp) exchangeForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.redirect}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

// refreshForm is a refresh_token request, by hand.
func refreshForm(rt string, scope ...string) url.Values {
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if len(scope) > 0 {
		f.Set("scope", strings.Join(scope, " "))
	}
	return f
}

// jwtParts splits a compact JWS and decodes its header.
func jwtParts(t *testing.T, tok string) (header map[string]any, payload, sig string) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(p[0])
	if err != nil || json.Unmarshal(raw, &header) != nil {
		t.Fatalf("JWS header of %q: %v", tok, err)
	}
	return header, p[1], p[2]
}

// parallel runs fn n times at once (released together) and collects the
// results in order.
func parallel[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			out[i] = fn(i)
		}()
	}
	close(startGate)
	wg.Wait()
	return out
}
