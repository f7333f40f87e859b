package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

var recoveryCodeRE = regexp.MustCompile(`<code>([a-z2-7]{5}-[a-z2-7]{5})</code>`)

// TestMFASettingsNeedFreshProof: a session cookie alone does not change
// two-step verification. Once the user has a factor, a session without a
// second factor in its sign-in (here the password-only sign-in that
// enrolled it) cannot add another, remove one, regenerate recovery codes
// or start a passkey registration, not even with the current password: it
// takes a current code. A wrong code changes nothing; a recovery code and
// the app's code go through.
func TestMFASettingsNeedFreshProof(t *testing.T) {
	const email, pw = "hedy@example.com", "frequency hopping 1942"
	n, r := mfaUser(t, "off", email, pw) // mfa_enforce_test.go
	secret := r.enrolTOTP(n.URL, "default", email, pw)

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
		{"/mfa/recovery", form("current_password", pw)},
		{"/mfa/recovery", form("current_code", "000000")},
		{"/mfa/remove", form("factor_id", fid[1], "current_password", pw)},
		{"/mfa/totp", form("name", "attacker", "current_password", pw)},
		{"/mfa/passkey/begin", form("current_password", pw)},
	} {
		res, body := r.page("POST", acct+c.path, c.form)
		if res.StatusCode != http.StatusForbidden || strings.Contains(body, `id="recovery-codes"`) || strings.Contains(body, `id="totp-secret"`) ||
			strings.Contains(body, `"options"`) {
			t.Fatalf("POST %s %v with a password-only session: %d %.200s", c.path, c.form, res.StatusCode, body)
		}
	}
	if _, body := r.page("GET", acct+"/mfa", nil); !strings.Contains(body, fid[1]) {
		t.Fatal("the factor was removed")
	}
	code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	res, body = r.page("POST", acct+"/mfa/recovery", form("current_code", code))
	codes := recoveryCodeRE.FindAllStringSubmatch(body, -1)
	if res.StatusCode != http.StatusOK || len(codes) == 0 {
		t.Fatalf("regenerate with the current code: %d", res.StatusCode)
	}
	res, _ = r.page("POST", acct+"/mfa/remove", form("factor_id", fid[1], "current_code", codes[0][1]))
	if _, body := r.page("GET", acct+"/mfa", nil); strings.Contains(body, fid[1]) {
		t.Fatalf("remove with a recovery code: %d, factor still listed", res.StatusCode)
	}
}
