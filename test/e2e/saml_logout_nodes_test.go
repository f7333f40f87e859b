package e2e

import (
	"os"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestSAMLLogoutReplayAcrossNodes: a signed LogoutRequest from a
// crewjam/saml service provider accepted by one node is refused when it is
// replayed at the other: the IDs are remembered in the shared PostgreSQL,
// until the request would expire.
func TestSAMLLogoutReplayAcrossNodes(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	p, _, _, envA, _ := twoNodes(t, sqltest.PostgresDSN(t))
	out, errOut, code := cli(t, envA, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey: %s", errOut)
	}
	api := &client{t: t, base: p.URL, token: lastLine(out)}
	mkUser(api, map[string]any{"email": samlUser, "password": samlPassword, "email_verified": true})
	sp := newSP(t, p.URL, "default", "wiki", true)
	registerSP(t, envA, sp, "--name", "Wiki", "--slo-url", sp.SloURL.String())
	sso := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)

	// Sign in through node A.
	p.pin(0)
	c := samlBrowser(nil)
	req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := req.Redirect("", sp)
	if _, err := acs(t, sp, visit(t, c, getReq(t, u.String()), samlUser, samlPassword), req.ID); err != nil {
		t.Fatalf("SAML sign-in: %v", err)
	}
	// The service provider's signed LogoutRequest, accepted by node A.
	lr, err := sp.MakeRedirectLogoutRequest(samlUser, "bye")
	if err != nil {
		t.Fatal(err)
	}
	first := visit(t, c, getReq(t, lr.String()), "", "")
	if first.location == nil || !strings.HasPrefix(first.location.String(), sp.SloURL.String()) {
		t.Fatalf("logout at node A answered %d %v %.300s", first.status, first.location, first.body)
	}
	if err := sp.ValidateLogoutResponseRequest(getReq(t, first.location.String())); err != nil {
		t.Fatalf("LogoutResponse of node A: %v", err)
	}
	// The same request replayed at node B (and at A) is refused: no
	// LogoutResponse goes back to the provider.
	for i, name := range []string{"node B", "node A"} {
		p.pin(1 - i)
		again := visit(t, samlBrowser(nil), getReq(t, lr.String()), "", "")
		if again.status < 400 || again.location != nil {
			t.Errorf("LogoutRequest replayed at %s: %d %v %.200s", name, again.status, again.location, again.body)
		}
	}
	// A fresh LogoutRequest is still answered at node B.
	p.pin(1)
	lr2, err := sp.MakeRedirectLogoutRequest(samlUser, "")
	if err != nil {
		t.Fatal(err)
	}
	if fresh := visit(t, samlBrowser(nil), getReq(t, lr2.String()), "", ""); fresh.location == nil ||
		!strings.HasPrefix(fresh.location.String(), sp.SloURL.String()) {
		t.Errorf("a fresh LogoutRequest at node B: %d %v %.200s", fresh.status, fresh.location, fresh.body)
	}
}
