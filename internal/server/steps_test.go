package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
)

// noticeStep is a step of the test's own, between authentication and the
// session: it needs nothing from the user and records each login it saw,
// by the origin of its request.
type noticeStep struct {
	mu   sync.Mutex
	seen []string
}

func (*noticeStep) Name() string { return "notice" }
func (n *noticeStep) Needed(_ context.Context, st *flow.State) (bool, error) {
	return st.Request != nil, nil
}
func (n *noticeStep) Handle(_ context.Context, st *flow.State) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = append(n.seen, st.Request.Origin)
	return nil
}
func (n *noticeStep) origins() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.seen)
}

// TestAddedStepRunsForEveryProtocol: a step added at the composition root
// (no protocol package changed) runs in an OIDC login, a SAML login, a
// device approval and the account page's own sign-in, each one's login
// going on to its protocol's return.
// The client list shows only the operator's clients, after a SAML login too.
func TestAddedStepRunsForEveryProtocol(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		step := &noticeStep{}
		ta := openApp(t, testConfig(t, be.db(t)), Options{Steps: func(f *flow.Service) []flow.Step {
			return append(flow.DefaultSteps(f), step)
		}})
		tn := ta.tenant("acme")
		c := ta.client(tn.ID, "app")
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "ada@example.com", pw)

		// OIDC.
		id := ta.authRequest(tn, c)
		p := passwordStep(t, ta.browser(), "acme", id, "ada@example.com", pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("OIDC login: %d %q", p.status, p.location())
		}

		// SAML (an IdP-initiated login through the launch path).
		sp := ta.samlSP(tn.ID, "https://sp.example.com")
		b := ta.browser()
		p = b.get(samlreg.LaunchPath("acme", sp.ID))
		loginID, ok := strings.CutPrefix(p.location(), "/t/acme/login?id=")
		if p.status != http.StatusFound || !ok {
			t.Fatalf("SAML launch: %d %q", p.status, p.location())
		}
		p = passwordStep(t, b, "acme", loginID, "ada@example.com", pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/saml/continue?id="+loginID {
			t.Fatalf("SAML login: %d %q", p.status, p.location())
		}
		if p = b.get(p.location()); p.status != http.StatusOK || !strings.Contains(p.body, "SAMLResponse") {
			t.Fatalf("SAML continue: %d", p.status)
		}

		// Device approval.
		tv, _, err := ta.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
			Name: "TV", Public: true, GrantTypes: []string{deviceGrantType}})
		if err != nil {
			t.Fatal(err)
		}
		_, userCode := deviceStart(t, ta, tv.ID)
		b = ta.browser()
		tok := b.csrf("/t/acme/device")
		p = b.post("/t/acme/device", form("csrf", tok, "user_code", userCode))
		loginID, ok = strings.CutPrefix(p.location(), "/t/acme/login?id=")
		if p.status != http.StatusSeeOther || !ok {
			t.Fatalf("device code without a session: %d %q", p.status, p.location())
		}
		p = passwordStep(t, b, "acme", loginID, "ada@example.com", pw)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/device?user_code=") {
			t.Fatalf("device login: %d %q", p.status, p.location())
		}
		if p := approveDevice(b, userCode); p.status != http.StatusOK {
			t.Fatalf("device approval: %d", p.status)
		}

		// The account page's own sign-in.
		b = ta.browser()
		tok = b.csrf("/t/acme/account/login")
		p = b.post("/t/acme/account/login", form("csrf", tok, "identifier", "ada@example.com", "password", pw))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/account") {
			t.Fatalf("account sign-in: %d %q", p.status, p.location())
		}

		if got := step.origins(); !slices.Equal(got, []string{flow.OriginOIDC, flow.OriginSAML, flow.OriginDevice, flow.OriginAccount}) {
			t.Fatalf("the added step ran for %v; want oidc, saml, device, account", got)
		}

		r := ta.do(request{method: http.MethodGet, path: "/api/v1/tenants/" + string(tn.ID) + "/clients",
			auth: "Bearer " + ta.key(tn.ID, "admin")})
		if r.status != http.StatusOK || strings.Contains(string(r.body), "gatehouse-saml") ||
			!strings.Contains(string(r.body), c.ID) || !strings.Contains(string(r.body), url.PathEscape(tv.ID)) {
			t.Fatalf("clients after a SAML login: %d %s", r.status, r.body)
		}
	})
}
