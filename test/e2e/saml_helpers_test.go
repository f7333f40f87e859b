package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// setupSAML starts a server on backend b and makes an admin key for the
// default tenant, like setupOIDC.
func setupSAML(t *testing.T, b backend) (n *node, env []string, api *client) {
	t.Helper()
	env = testEnv(t.TempDir(), b.db, testMasterKey)
	n = start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	return n, env, &client{t: t, base: n.URL, token: lastLine(out)}
}

// spBase is where test service providers "live": nothing listens there;
// the test's browser stops at every redirect or form bound for it.
const spBase = "http://127.0.0.1:9/sp/"

// newSP is a crewjam/saml ServiceProvider named name for tenant's IdP,
// with its own RSA key; sign makes it sign its requests.
func newSP(t *testing.T, base, tenant, name string, sign bool) *crewjam.ServiceProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	res, err := http.Get(base + "/t/" + tenant + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal(body, &md); err != nil {
		t.Fatalf("IdP metadata: %v\n%s", err, body)
	}
	root := spBase + name
	sp := &crewjam.ServiceProvider{
		EntityID: root + "/metadata", Key: key, Certificate: cert, IDPMetadata: &md,
		MetadataURL: mustParse(t, root+"/metadata"), AcsURL: mustParse(t, root+"/acs"), SloURL: mustParse(t, root+"/slo"),
		AuthnNameIDFormat: crewjam.UnspecifiedNameIDFormat,
	}
	if sign {
		sp.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	return sp
}

func mustParse(t *testing.T, s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return *u
}

// registerSP registers sp with the CLI from its metadata file, with
// extra flags, and answers the registration's id.
func registerSP(t *testing.T, env []string, sp *crewjam.ServiceProvider, extra ...string) string {
	t.Helper()
	b, err := xml.MarshalIndent(sp.Metadata(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "sp.xml")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"saml", "sp", "create", "--tenant", "default", "--metadata-file", f, "--json"}, extra...)
	out, errOut, code := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("saml sp create: %s", errOut)
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := jsonUnmarshal(lastLine(out), &v); err != nil || v.ID == "" {
		t.Fatalf("saml sp create output %q: %v", out, err)
	}
	return v.ID
}

// samlBrowser is a cookie-carrying client that follows redirects within
// the IdP and stops at the service providers.
func samlBrowser(jar http.CookieJar) *http.Client {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), spBase) || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// arrival is where the browser ended up at a service provider: a form
// post (action and fields) or a redirect (location).
type arrival struct {
	status   int
	body     string
	action   string
	fields   url.Values
	location *url.URL
	// loginShown: the IdP asked for a password on the way.
	loginShown bool
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenAnyRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// visit runs the browser from req: it logs in with user/password when the
// login page appears (failing if user is ""), and stops when a form or a
// redirect is bound for a service provider, or at anything else.
func visit(t *testing.T, c *http.Client, req *http.Request, user, password string) arrival {
	t.Helper()
	var a arrival
	for range 5 {
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(b)
		a.status, a.body = res.StatusCode, body
		if loc := res.Header.Get("Location"); loc != "" && res.StatusCode/100 == 3 {
			a.location, _ = res.Request.URL.Parse(loc)
			return a
		}
		if res.StatusCode == http.StatusOK && strings.Contains(body, `autocomplete="current-password"`) {
			a.loginShown = true
			if user == "" {
				t.Fatalf("login page shown, but single sign-on was expected")
			}
			form := url.Values{"identifier": {user}, "password": {password}}
			for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
				form.Set(m[1], m[2])
			}
			req = postReq(t, res.Request.URL.String(), form)
			continue
		}
		if m := formActionRE.FindStringSubmatch(body); m != nil && res.StatusCode == http.StatusOK {
			a.action = html.UnescapeString(m[1])
			a.fields = url.Values{}
			for _, f := range hiddenAnyRE.FindAllStringSubmatch(body, -1) {
				a.fields.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
			}
			return a
		}
		return a
	}
	t.Fatalf("browser did not arrive anywhere")
	return a
}

func postReq(t *testing.T, u string, form url.Values) *http.Request {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func getReq(t *testing.T, u string) *http.Request {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// acs hands the form the browser was about to post to the SP's ACS to
// crewjam's ParseResponse, which checks signature, audience, recipient,
// times and InResponseTo (one of ids).
func acs(t *testing.T, sp *crewjam.ServiceProvider, a arrival, ids ...string) (*crewjam.Assertion, error) {
	t.Helper()
	if a.action != sp.AcsURL.String() {
		t.Fatalf("response posted to %q, want the ACS %q (status %d: %.300s)", a.action, sp.AcsURL.String(), a.status, a.body)
	}
	req := postReq(t, a.action, a.fields)
	_ = req.ParseForm()
	return sp.ParseResponse(req, ids)
}

// attr answers the values of the assertion's attribute name.
func attr(as *crewjam.Assertion, name string) []string {
	var out []string
	for _, st := range as.AttributeStatements {
		for _, a := range st.Attributes {
			if a.Name == name {
				for _, v := range a.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

// postBindingForm extracts the SAMLRequest form crewjam's SP renders.
func postBindingForm(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	m := regexp.MustCompile(`action="([^"]*)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form in %s", page)
	}
	form := url.Values{}
	for _, f := range regexp.MustCompile(`name="([^"]*)" value="([^"]*)"`).FindAllSubmatch(page, -1) {
		form.Set(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
	}
	return html.UnescapeString(string(m[1])), form
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
