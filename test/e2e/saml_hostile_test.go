package e2e

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

// TestSAMLHostileInput sends what an attacker would, each asserting
// rejection (400, no redirect anywhere) and, for logout, that the session
// lives on: signature wrapping variants of AuthnRequests and
// LogoutRequests, unsigned requests where signing is required, a replayed
// request ID, an unregistered ACS URL, DTDs, external entities, entity
// expansion, an oversized request and a deflate bomb.
func TestSAMLHostileInput(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testSAMLHostileInput(t, b)
		})
	}
}

func testSAMLHostileInput(t *testing.T, b backend) {
	n, env, api := setupSAML(t, b)
	userID := mkUser(api, map[string]any{"email": samlUser, "password": samlPassword})
	sp := newSP(t, n.URL, "default", "signer", true)
	registerSP(t, env, sp, "--slo-url", sp.SloURL.String())
	sso := n.URL + "/t/default/saml/sso"
	slo := n.URL + "/t/default/saml/slo"
	sessions := "/api/v1/tenants/default/users/" + userID + "/sessions"

	// refused posts form to endpoint with a fresh browser (or c) and
	// demands a 400 with no redirect.
	refused := func(t *testing.T, what string, c *http.Client, req *http.Request) {
		t.Helper()
		if c == nil {
			c = samlBrowser(nil)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d, want 400", what, res.StatusCode)
		}
		if loc := res.Header.Get("Location"); loc != "" {
			t.Errorf("%s: redirected to %s", what, loc)
		}
	}
	postXML := func(endpoint, param, doc string) *http.Request {
		return postReq(t, endpoint, url.Values{param: {base64.StdEncoding.EncodeToString([]byte(doc))}})
	}
	signedAuthn := func(edit func(*crewjam.AuthnRequest)) string {
		req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPPostBinding, crewjam.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(req)
			req.Signature = nil
			if err := sp.SignAuthnRequest(req); err != nil {
				t.Fatal(err)
			}
		}
		return xmlString(t, req.Element())
	}

	t.Run("AuthnRequestAccepted", func(t *testing.T) {
		// The baseline the variants below break: a signed request is taken.
		res, err := samlBrowser(nil).Do(postXML(sso, "SAMLRequest", signedAuthn(nil)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/login") {
			t.Fatalf("signed request: %d at %s", res.StatusCode, res.Request.URL)
		}
	})

	t.Run("AuthnRequestSignatureWrapping", func(t *testing.T) {
		doc := signedAuthn(nil)
		id := between(doc, `ID="`, `"`)
		// Changed after signing.
		refused(t, "tampered", nil, postXML(sso, "SAMLRequest", strings.Replace(doc, sp.AcsURL.String(), "http://127.0.0.1:9/evil/acs", 1)))
		// The signed request hidden in the Extensions of an unsigned one.
		evil := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="evil" Version="2.0" IssueInstant="` +
			between(doc, `IssueInstant="`, `"`) + `" Destination="` + sso + `" AssertionConsumerServiceURL="http://127.0.0.1:9/evil/acs"><saml:Issuer>` +
			sp.EntityID + `</saml:Issuer><samlp:Extensions>` + doc + `</samlp:Extensions></samlp:AuthnRequest>`
		refused(t, "wrapped in Extensions", nil, postXML(sso, "SAMLRequest", evil))
		// The signed element kept, under a root that copies its ID.
		dup := strings.Replace(evil, `ID="evil"`, `ID="`+id+`"`, 1)
		refused(t, "duplicate ID", nil, postXML(sso, "SAMLRequest", dup))
		// The root re-IDed, its signature still pointing at the old ID.
		refused(t, "reference to another ID", nil, postXML(sso, "SAMLRequest", strings.Replace(doc, `ID="`+id+`"`, `ID="evil"`, 1)))
		// Signature removed.
		unsigned := signedAuthn(func(r *crewjam.AuthnRequest) {})
		refused(t, "signature stripped", nil, postXML(sso, "SAMLRequest", stripSignature(t, unsigned)))
	})

	t.Run("UnsignedWhereSigningRequired", func(t *testing.T) {
		plain := *sp
		plain.SignatureMethod = ""
		req, _ := plain.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		u, _ := req.Redirect("", &plain)
		refused(t, "unsigned redirect", nil, getReq(t, u.String()))
		refused(t, "unsigned post", nil, postXML(sso, "SAMLRequest", xmlString(t, req.Element())))
	})

	t.Run("ReplayedRequestID", func(t *testing.T) {
		doc := signedAuthn(nil)
		res, err := samlBrowser(nil).Do(postXML(sso, "SAMLRequest", doc))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("first use: %d", res.StatusCode)
		}
		refused(t, "replayed", nil, postXML(sso, "SAMLRequest", doc))
	})

	t.Run("UnregisteredACS", func(t *testing.T) {
		doc := signedAuthn(func(r *crewjam.AuthnRequest) { r.AssertionConsumerServiceURL = "http://127.0.0.1:9/evil/acs" })
		refused(t, "unregistered ACS URL", nil, postXML(sso, "SAMLRequest", doc))
	})

	t.Run("XMLAttacks", func(t *testing.T) {
		doc := signedAuthn(nil)
		body := doc[strings.Index(doc, "<samlp:AuthnRequest"):]
		refused(t, "DTD", nil, postXML(sso, "SAMLRequest", `<!DOCTYPE samlp:AuthnRequest [<!ELEMENT x ANY>]>`+body))
		refused(t, "external entity", nil, postXML(sso, "SAMLRequest",
			`<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`+strings.Replace(body, sp.EntityID, "&xxe;", 1)))
		refused(t, "entity expansion", nil, postXML(sso, "SAMLRequest",
			`<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`+
				strings.Replace(body, sp.EntityID, "&c;", 1)))
		refused(t, "oversized", nil, postXML(sso, "SAMLRequest", strings.Repeat("<x/>", 50<<10)))
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestCompression)
		w.Write([]byte(body[:strings.Index(body, ">")+1]))
		w.Write(bytes.Repeat([]byte(" "), 30<<20))
		w.Close()
		if b.Len() > 90<<10 {
			t.Fatalf("bomb is %d bytes compressed", b.Len())
		}
		refused(t, "deflate bomb", nil, getReq(t, sso+"?SAMLRequest="+url.QueryEscape(base64.StdEncoding.EncodeToString(b.Bytes()))))
	})

	t.Run("LogoutRequests", func(t *testing.T) {
		c := samlBrowser(nil)
		a := visit(t, c, getReq(t, n.URL+"/t/default/saml/launch/"+sessionSPID(t, api, sp.EntityID)), samlUser, samlPassword)
		if a.action != sp.AcsURL.String() {
			t.Fatalf("login: %d", a.status)
		}
		lr, err := sp.MakeLogoutRequest(slo, samlUser)
		if err != nil {
			t.Fatal(err)
		}
		doc := xmlString(t, lr.Element())
		if !strings.Contains(doc, "Signature") {
			t.Fatal("the SP did not sign its LogoutRequest")
		}
		id := lr.ID
		plain := *sp
		plain.SignatureMethod = ""
		unsignedLR, _ := plain.MakeLogoutRequest(slo, samlUser)
		evil := `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="evil" Version="2.0" IssueInstant="` +
			between(doc, `IssueInstant="`, `"`) + `" Destination="` + slo + `"><saml:Issuer>` + sp.EntityID + `</saml:Issuer><saml:NameID>` + samlUser +
			`</saml:NameID><samlp:Extensions>` + doc + `</samlp:Extensions></samlp:LogoutRequest>`
		for what, d := range map[string]string{
			"unsigned":                xmlString(t, unsignedLR.Element()),
			"tampered NameID":         strings.Replace(doc, samlUser, "someone@example.com", 1),
			"wrapped in Extensions":   evil,
			"duplicate ID":            strings.Replace(evil, `ID="evil"`, `ID="`+id+`"`, 1),
			"reference to another ID": strings.Replace(doc, `ID="`+id+`"`, `ID="evil"`, 1),
			"DTD":                     `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + doc,
		} {
			refused(t, "LogoutRequest "+what, c, postXML(slo, "SAMLRequest", d))
		}
		if s := sessionsOf(t, api, sessions); len(s) != 1 {
			t.Fatalf("sessions after refused logouts: %d, want 1", len(s))
		}
		// The genuine request works, once.
		ok := visit(t, c, postXML(slo, "SAMLRequest", doc), "", "")
		if ok.location == nil || !strings.HasPrefix(ok.location.String(), sp.SloURL.String()+"?SAMLResponse=") {
			t.Fatalf("genuine logout: %d %s %.300s", ok.status, ok.action, ok.body)
		}
		if s := sessionsOf(t, api, sessions); len(s) != 0 {
			t.Errorf("sessions after logout: %d", len(s))
		}
		refused(t, "replayed LogoutRequest", c, postXML(slo, "SAMLRequest", doc))
	})
}

func xmlString(t *testing.T, el *etree.Element) string {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stripSignature(t *testing.T, s string) string {
	i, j := strings.Index(s, "<ds:Signature"), strings.Index(s, "</ds:Signature>")
	if i < 0 || j < 0 {
		t.Fatalf("no signature in %s", s)
	}
	return s[:i] + s[j+len("</ds:Signature>"):]
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	return s[:strings.Index(s, b)]
}

// sessionSPID finds a registration's id by entity ID through the API.
func sessionSPID(t *testing.T, api *client, entityID string) string {
	var v struct {
		Items []struct {
			ID       string `json:"id"`
			EntityID string `json:"entity_id"`
		}
	}
	api.must(200, "GET", "/api/v1/tenants/default/saml/sps", nil).json(t, &v)
	for _, it := range v.Items {
		if it.EntityID == entityID {
			return it.ID
		}
	}
	t.Fatalf("no registration of %s", entityID)
	return ""
}
