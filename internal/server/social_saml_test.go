package server

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
)

var (
	samlResponseRE = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)
	relayStateRE   = regexp.MustCompile(`name="RelayState" value="([^"]+)"`)
)

// TestSocialSAMLUpstream: tenant corp of the same server is shop's company
// IdP over SAML 2.0 (shop is the SP, registered at corp from its metadata).
// A login through it creates the account just in time; a second one signs
// the same user in; a tampered Response and a replayed one are refused.
func TestSocialSAMLUpstream(t *testing.T) {
	ta := openSocialApp(t, backends[0], 0)
	w, key := newShop(t, ta)
	corp := ta.tenant("corp")
	ta.userWithPassword(corp.ID, "erin@corp.example", "Upstream-pass-6604")
	pub := ta.Config.PublicURL
	w.addConnection(key, map[string]any{"type": "saml", "name": "corp-saml", "display_name": "Corp SAML",
		"metadata_url": pub + "/t/corp/saml/metadata", "domains": []string{"corp.example"}})
	b := ta.browser()
	md := b.get("/t/shop/connections/corp-saml/metadata")
	if md.status != http.StatusOK || !strings.Contains(md.body, pub+"/t/shop/connections/corp-saml/callback") {
		t.Fatalf("SP metadata: %d %.800s", md.status, md.body)
	}
	if _, err := ta.SAMLSPs.Create(context.Background(), testActor, corp.ID, samlreg.NewSP{Name: "Shop",
		Metadata: md.body, NameIDFormat: "persistent"}); err != nil {
		t.Fatalf("register the SP at corp: %v", err)
	}

	login := func(b *browserClient) (response, relay string) {
		t.Helper()
		loc := w.start(b, "corp-saml")
		if !strings.HasPrefix(loc, pub+"/t/corp/saml/") || !strings.Contains(loc, "SAMLRequest=") {
			t.Fatalf("SAML start: %s", loc)
		}
		page := b.walk(b.get(strings.TrimPrefix(loc, pub)))
		if page.status == http.StatusOK && strings.Contains(page.body, `name="password"`) {
			page = b.walk(b.post("/t/corp/login", form("csrf", match(t, csrfRE, page), "id", match(t, hiddenIDRE, page),
				"identifier", "erin@corp.example", "password", "Upstream-pass-6604")))
		}
		return html.UnescapeString(match(t, samlResponseRE, page)), html.UnescapeString(match(t, relayStateRE, page))
	}
	resp, relay := login(b)
	toApp(t, b.walk(b.post("/t/shop/connections/corp-saml/callback", form("SAMLResponse", resp, "RelayState", relay))))
	u := w.mustUser("erin@corp.example")
	ids := w.identities(u.ID)
	if len(ids) != 1 || ids[0].Subject == "" || u.EmailVerified {
		t.Fatalf("SAML JIT user %+v, identities %+v", u, ids)
	}
	// The same Response again: its login is spent.
	w.failed(t, b.walk(b.post("/t/shop/connections/corp-saml/callback", form("SAMLResponse", resp, "RelayState", relay))),
		http.StatusBadRequest, "state_mismatch")

	// Tampered: another address inside the signed assertion.
	b = ta.browser()
	resp, relay = login(b)
	raw := decodeB64(t, resp)
	bad := strings.Replace(raw, "erin@corp.example", "mallory@corp.example", 1)
	if bad == raw {
		t.Fatalf("the assertion does not carry the address: %.400s", raw)
	}
	w.failed(t, b.walk(b.post("/t/shop/connections/corp-saml/callback", form("SAMLResponse", encodeB64(bad), "RelayState", relay))),
		http.StatusBadGateway, "invalid_id_token")
	// A second login signs the same user in.
	b = ta.browser()
	resp, relay = login(b)
	toApp(t, b.walk(b.post("/t/shop/connections/corp-saml/callback", form("SAMLResponse", resp, "RelayState", relay))))
	if ids := w.identities(u.ID); len(ids) != 1 {
		t.Fatalf("second SAML login: identities %+v", ids)
	}
}

func decodeB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encodeB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
