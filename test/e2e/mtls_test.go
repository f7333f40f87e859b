package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// mtlsPKI is the test's certificates: the CA the deployment trusts for
// tls_client_auth, a rogue CA it does not, the server's certificate, and
// the clients' certificates.
type mtlsPKI struct {
	ca, rogue *testCA
	server    tls.Certificate
	// a is "CN=client-a,O=Acme" with DNS SAN client-a.example; b another
	// client of the same CA; forged has a's subject from the rogue CA;
	// self is self-signed.
	a, b, forged, self tls.Certificate
	roots              *x509.CertPool
}

func newMTLSPKI(t *testing.T) *mtlsPKI {
	p := &mtlsPKI{ca: newTestCA(t, "Gatehouse Test Client CA"), rogue: newTestCA(t, "Rogue CA")}
	p.server = issue(t, p.ca, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{loopbackIP}}, true)
	acme := pkix.Name{CommonName: "client-a", Organization: []string{"Acme"}}
	p.a = issue(t, p.ca, &x509.Certificate{Subject: acme, DNSNames: []string{"client-a.example"}}, false)
	p.b = issue(t, p.ca, &x509.Certificate{Subject: pkix.Name{CommonName: "client-b", Organization: []string{"Acme"}},
		DNSNames: []string{"client-b.example"}}, false)
	p.forged = issue(t, p.rogue, &x509.Certificate{Subject: acme, DNSNames: []string{"client-a.example"}}, false)
	p.self = issue(t, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "self-signed client"}}, false)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.ca.cert)
	return p
}

// client answers an HTTP client that presents c (nil: no certificate).
func (p *mtlsPKI) client(c *tls.Certificate) *http.Client { return tlsClient(p.roots, c) }

// mtlsClients registers the clients of the scenario through the API and
// answers their ids: pki (tls_client_auth by subject DN, bound tokens,
// code flow too), san (by DNS SAN, unbound), self (self-signed, bound).
func mtlsClients(t *testing.T, hc *http.Client, base, key, redirect string, p *mtlsPKI) (pki, san, self string) {
	t.Helper()
	mk := func(body map[string]any) string {
		r := call(t, hc, "POST", base+"/api/v1/tenants/default/clients", nil, body, "Authorization", "Bearer "+key)
		if r.Status != http.StatusCreated {
			t.Fatalf("create client %v: %d %s", body["name"], r.Status, r.Raw)
		}
		if r.str("client_secret") != "" || r.str("token_endpoint_auth_method") != body["token_endpoint_auth_method"] {
			t.Fatalf("an mTLS client got a secret or lost its method: %s", r.Raw)
		}
		return r.str("client_id")
	}
	pki = mk(map[string]any{"name": "mTLS PKI", "token_endpoint_auth_method": "tls_client_auth",
		"tls_client_auth_subject_dn": "CN=client-a, O=Acme", "tls_client_certificate_bound_access_tokens": true,
		"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"}, "redirect_uris": []string{redirect}})
	san = mk(map[string]any{"name": "mTLS SAN", "token_endpoint_auth_method": "tls_client_auth",
		"tls_client_auth_san_dns": "client-a.example", "grant_types": []string{"client_credentials"}})
	jwk := jose.JSONWebKey{Key: p.self.Leaf.PublicKey, Certificates: []*x509.Certificate{p.self.Leaf}, Algorithm: "ES256", Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	self = mk(map[string]any{"name": "mTLS self-signed", "token_endpoint_auth_method": "self_signed_tls_client_auth",
		"jwks": json.RawMessage(set), "tls_client_certificate_bound_access_tokens": true, "grant_types": []string{"client_credentials"}})
	// Registration refuses an mTLS client that names no certificate field,
	// and a self-signed one without certificates.
	for _, bad := range []map[string]any{
		{"name": "no DN", "token_endpoint_auth_method": "tls_client_auth", "grant_types": []string{"client_credentials"}},
		{"name": "two fields", "token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_san_dns": "x.example",
			"tls_client_auth_subject_dn": "CN=x", "grant_types": []string{"client_credentials"}},
		{"name": "no x5c", "token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": []string{"client_credentials"}},
	} {
		if r := call(t, hc, "POST", base+"/api/v1/tenants/default/clients", nil, bad, "Authorization", "Bearer "+key); r.Status != 400 {
			t.Errorf("client %v: %d %s, want 400", bad["name"], r.Status, r.Raw)
		}
	}
	return pki, san, self
}

// ccToken runs client_credentials for id through hc with x/oauth2, the
// client_id in the form and no secret (RFC 8705 2).
func ccToken(t *testing.T, hc *http.Client, tokenURL, id string) (*oauth2.Token, error) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: id, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
}

// TestMTLSTerminatedByGatehouse: Gatehouse's own TLS listener (tls=files)
// asks for client certificates; tls_client_auth (subject DN and SAN
// against the configured CA bundle) and self_signed_tls_client_auth
// authenticate clients; tokens are bound (cnf.x5t#S256), shown by
// introspection and checked at userinfo; a forwarded certificate header
// counts only from a trusted proxy. On every backend.
func TestMTLSTerminatedByGatehouse(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { mtlsScenario(t, b) })
	}
}

func mtlsScenario(t *testing.T, b backend) {
	p := newMTLSPKI(t)
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir, "server", p.server)
	caFile := dir + "/clients-ca.pem"
	writeFile(t, caFile, string(p.ca.pem))
	env := append(testEnv(dir, b.db, testMasterKey), "GATEHOUSE_TLS=files", "GATEHOUSE_TLS_CERT_FILE="+certFile,
		"GATEHOUSE_TLS_KEY_FILE="+keyFile, "GATEHOUSE_TLS_CLIENT_CA_FILE="+caFile, "GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32")
	n := start(t, env)
	base := "https://" + strings.TrimPrefix(n.URL, "http://")
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey: %s", errOut)
	}
	key := lastLine(out)
	none, withA, withB := p.client(nil), p.client(&p.a), p.client(&p.b)

	// Discovery says what is offered.
	issuer := base + "/t/default"
	disc := call(t, none, "GET", issuer+"/.well-known/openid-configuration", nil, nil)
	if disc.Body["tls_client_certificate_bound_access_tokens"] != true ||
		!strings.Contains(string(disc.Raw), `"tls_client_auth"`) || !strings.Contains(string(disc.Raw), `"self_signed_tls_client_auth"`) {
		t.Fatalf("discovery: %s", disc.Raw)
	}
	m := opMeta{Token: issuer + "/oauth/token", Introspection: issuer + "/oauth/introspect", UserInfo: issuer + "/userinfo"}

	redirect := freeRedirect(t, "/cb")
	pki, san, self := mtlsClients(t, none, base, key, redirect, p)

	// client_credentials with x/oauth2: bound to the certificate presented.
	tok, err := ccToken(t, withA, m.Token, pki)
	if err != nil {
		t.Fatalf("tls_client_auth client_credentials: %v", err)
	}
	if got := cnfMember(claimsOf(t, tok.AccessToken))["x5t#S256"]; got != x5t(p.a) {
		t.Fatalf("cnf.x5t#S256 = %v, want %s", got, x5t(p.a))
	}
	// Introspection (the client itself, authenticated by its certificate)
	// returns the binding (RFC 8705 3.2).
	in := call(t, withA, "POST", m.Introspection, url.Values{"token": {tok.AccessToken}, "client_id": {pki}}, nil)
	if !active(in) || cnfMember(in.Body)["x5t#S256"] != x5t(p.a) {
		t.Fatalf("introspection: %d %s", in.Status, in.Raw)
	}

	// Who may authenticate as whom.
	forged, selfC := p.client(&p.forged), p.client(&p.self)
	for _, c := range []struct {
		name   string
		hc     *http.Client
		id     string
		ok     bool
		x5tOut string
	}{
		{"pki without a certificate", none, pki, false, ""},
		{"pki with the rogue CA's certificate of the same DN", forged, pki, false, ""},
		{"pki with another client's certificate", withB, pki, false, ""},
		{"pki with a self-signed certificate", selfC, pki, false, ""},
		{"self-signed with a CA-issued certificate", withA, self, false, ""},
		{"self-signed with its registered certificate", selfC, self, true, x5t(p.self)},
		{"san with the certificate naming it", withA, san, true, ""},
		{"san with another DNS name", withB, san, false, ""},
	} {
		tok, err := ccToken(t, c.hc, m.Token, c.id)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && err == nil:
			t.Errorf("%s: authenticated", c.name)
		case !c.ok:
			var re *oauth2.RetrieveError
			if !asRetrieve(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" {
				t.Errorf("%s: %v, want 401 invalid_client", c.name, err)
			}
		case cnfMember(claimsOf(t, tok.AccessToken))["x5t#S256"] != nilIfEmpty(c.x5tOut):
			t.Errorf("%s: cnf %v, want x5t#S256 %q", c.name, cnfMember(claimsOf(t, tok.AccessToken)), c.x5tOut)
		}
	}

	// A code flow: the browser has no certificate, the token request does.
	user := "mtls-user@example.com"
	r := call(t, none, "POST", base+"/api/v1/tenants/default/users", nil, map[string]any{"email": user, "password": "correct horse battery", "email_verified": true},
		"Authorization", "Bearer "+key)
	if r.Status != 201 {
		t.Fatalf("user: %d %s", r.Status, r.Raw)
	}
	ctx := gooidc.ClientContext(context.Background(), none)
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := p.client(nil)
	browser.Jar = jar
	browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	rpc := &rp{t: t, provider: prov, browser: browser, redirect: redirect, verifier: prov.Verifier(&gooidc.Config{ClientID: pki}),
		conf: &oauth2.Config{ClientID: pki, Endpoint: ep, RedirectURL: redirect, Scopes: []string{"openid", "email", "offline_access"}}}
	g := rpc.code(user, "correct horse battery")
	if _, err := rpc.conf.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, none), g.code, oauth2.VerifierOption(g.verifier)); err == nil {
		t.Fatal("code exchanged without the client certificate")
	}
	g = rpc.code("", "")
	utok, err := rpc.conf.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, withA), g.code, oauth2.VerifierOption(g.verifier))
	if err != nil {
		t.Fatalf("code exchange with the certificate: %v", err)
	}
	if cnfMember(claimsOf(t, utok.AccessToken))["x5t#S256"] != x5t(p.a) {
		t.Fatalf("code flow token not bound: %v", claimsOf(t, utok.AccessToken))
	}
	// Userinfo: only over a connection presenting the bound certificate.
	bearer := "Bearer " + utok.AccessToken
	if ui := call(t, withA, "GET", m.UserInfo, nil, nil, "Authorization", bearer); ui.Status != 200 || ui.str("email") != user {
		t.Fatalf("userinfo with the certificate: %d %s", ui.Status, ui.Raw)
	}
	for name, hc := range map[string]*http.Client{"no certificate": none, "another certificate": withB} {
		ui := call(t, hc, "GET", m.UserInfo, nil, nil, "Authorization", bearer)
		if ui.Status != 401 || ui.errCode() != "invalid_token" || !strings.Contains(ui.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("userinfo with %s: %d %s", name, ui.Status, ui.Raw)
		}
	}
	// A forwarded certificate header counts from a trusted proxy only
	// (127.0.0.1 here); a connection's own certificate wins over it.
	if ui := call(t, none, "GET", m.UserInfo, nil, nil, "Authorization", bearer, "X-Client-Cert", rfc9440(p.a)); ui.Status != 200 {
		t.Errorf("userinfo with the certificate forwarded by a trusted proxy: %d %s", ui.Status, ui.Raw)
	}
	if ui := call(t, withB, "GET", m.UserInfo, nil, nil, "Authorization", bearer, "X-Client-Cert", rfc9440(p.a)); ui.Status != 401 {
		t.Errorf("a forwarded header overrode the connection's certificate: %d %s", ui.Status, ui.Raw)
	}
	// The refresh token keeps working for the client, with its certificate;
	// the new access token is bound again.
	rt := call(t, withA, "POST", m.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {utok.RefreshToken}, "client_id": {pki}}, nil)
	if rt.Status != 200 || cnfMember(claimsOf(t, rt.str("access_token")))["x5t#S256"] != x5t(p.a) {
		t.Fatalf("refresh: %d %s", rt.Status, rt.Raw)
	}
	tenantCA(t, env, base, p)
}

// tenantCA: a tenant's own CA bundle (settings.mtls.client_ca_pem)
// authenticates its tls_client_auth clients, and only its own: the same
// certificate is refused in the tenant without that bundle; a bundle that
// is not CA certificates is refused.
func tenantCA(t *testing.T, env []string, base string, p *mtlsPKI) {
	out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("platform key: %s", errOut)
	}
	auth := []string{"Authorization", "Bearer " + lastLine(out)}
	none := p.client(nil)
	if r := call(t, none, "POST", base+"/api/v1/tenants", nil, map[string]string{"slug": "beta", "name": "Beta"}, auth...); r.Status != 201 {
		t.Fatalf("tenant: %d %s", r.Status, r.Raw)
	}
	own := newTestCA(t, "Beta clients CA")
	leaf := issue(t, own, &x509.Certificate{Subject: pkix.Name{CommonName: "beta-app", Organization: []string{"Beta"}}}, false)
	notCA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}))
	if r := call(t, none, "PATCH", base+"/api/v1/tenants/beta", nil, map[string]any{"settings": map[string]any{
		"mtls": map[string]any{"client_ca_pem": notCA}}}, auth...); r.Status != 400 {
		t.Errorf("a leaf certificate as CA bundle: %d %s", r.Status, r.Raw)
	}
	if r := call(t, none, "PATCH", base+"/api/v1/tenants/beta", nil, map[string]any{"settings": map[string]any{
		"mtls": map[string]any{"client_ca_pem": string(own.pem)}}}, auth...); r.Status != 200 {
		t.Fatalf("tenant CA bundle: %d %s", r.Status, r.Raw)
	}
	mk := func(tenant string) string {
		r := call(t, none, "POST", base+"/api/v1/tenants/"+tenant+"/clients", nil, map[string]any{"name": "beta app",
			"token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_subject_dn": "CN=beta-app,O=Beta",
			"grant_types": []string{"client_credentials"}}, auth...)
		if r.Status != 201 {
			t.Fatalf("client in %s: %d %s", tenant, r.Status, r.Raw)
		}
		return r.str("client_id")
	}
	withLeaf := p.client(&leaf)
	if _, err := ccToken(t, withLeaf, base+"/t/beta/oauth/token", mk("beta")); err != nil {
		t.Errorf("certificate of the tenant's own CA: %v", err)
	}
	if _, err := ccToken(t, withLeaf, base+"/t/default/oauth/token", mk("default")); err == nil {
		t.Error("a certificate of another tenant's CA authenticated")
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	e, ok := err.(*oauth2.RetrieveError)
	if !ok {
		return false
	}
	*re = e
	return true
}
