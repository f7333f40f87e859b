package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestMFAEnrolOnlySessionGetsNoCode: with the policy
// required and no grace, a user without a factor may sign in on the
// account page (to enrol), but a client's authorize in that browser then
// gets access_denied, never a code with amr [pwd].
func TestMFAEnrolOnlySessionGetsNoCode(t *testing.T) {
	const email, pw = "ada@example.com", "analytical engine 1843"
	n, r := mfaUser(t, "required", email, pw)
	res, body := r.page("GET", n.URL+"/t/default/account/login", nil)
	res, body = r.submit(res, body, url.Values{"identifier": {email}, "password": {pw}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "/account/mfa") {
		t.Fatalf("account sign-in to enrol: %d", res.StatusCode)
	}
	v := oauth2.GenerateVerifier()
	q := r.authorize(r.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(v), gooidc.Nonce("n-1")), "", "")
	if q.Get("code") != "" || q.Get("error") != "access_denied" || q.Get("state") != "st-1" {
		t.Fatalf("authorize with an enrol-only session: %v", q)
	}
}

// mfaUser starts a node whose default tenant has MFA policy, creates a
// verified user with email and password, and answers the node and a
// relying party with its own browser.
func mfaUser(t *testing.T, policy, email, password string) (*node, *rp) {
	t.Helper()
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{"email": email, "password": password, "email_verified": true})
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": policy}}})
	return n, newRP(t, env, n.URL, "default")
}
