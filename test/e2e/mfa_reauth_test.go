package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMFASettingsNeedFreshProof (review finding 5): a session cookie alone
// does not change two-step verification. The first enrolment right after
// signing in is allowed; once the user has a factor, a session without a
// second factor in its sign-in (here the password-only sign-in that
// enrolled it) cannot add another, remove one, regenerate recovery codes
// or start a passkey registration without the current password; a wrong
// password changes nothing; the right one goes through.
func TestMFASettingsNeedFreshProof(t *testing.T) {
	const email, pw = "hedy@example.com", "frequency hopping 1942"
	n, r := mfaUser(t, "off", email, pw) // mfa_enforce_test.go
	r.enrolTOTP(n.URL, "default", email, pw)

	acct := n.URL + "/t/default/account"
	res, body := r.page("GET", acct+"/mfa", nil)
	csrf, fid := hiddenRE.FindStringSubmatch(body), factorIDRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || csrf == nil || fid == nil {
		t.Fatalf("account mfa page: %d", res.StatusCode)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf[2]}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/mfa/recovery", form()},
		{"/mfa/recovery", form("current_password", "not the password")},
		{"/mfa/remove", form("factor_id", fid[1])},
		{"/mfa/totp", form("name", "attacker")},
		{"/mfa/passkey/begin", form()},
	} {
		res, body := r.page("POST", acct+c.path, c.form)
		if res.StatusCode != http.StatusForbidden || strings.Contains(body, `id="recovery-codes"`) || strings.Contains(body, `id="totp-secret"`) ||
			strings.Contains(body, `"options"`) {
			t.Fatalf("POST %s %v with a password-only session: %d %.200s", c.path, c.form.Has("current_password"), res.StatusCode, body)
		}
	}
	if _, body := r.page("GET", acct+"/mfa", nil); !strings.Contains(body, fid[1]) {
		t.Fatal("the factor was removed")
	}
	res, body = r.page("POST", acct+"/mfa/recovery", form("current_password", pw))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="recovery-codes"`) {
		t.Fatalf("regenerate with the current password: %d", res.StatusCode)
	}
	res, _ = r.page("POST", acct+"/mfa/remove", form("factor_id", fid[1], "current_password", pw))
	if _, body := r.page("GET", acct+"/mfa", nil); strings.Contains(body, fid[1]) {
		t.Fatalf("remove with the current password: %d, factor still listed", res.StatusCode)
	}
}
