package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestSocialLoginAsksSecondFactor: an upstream login
// is one factor. Bob has an authenticator app at shop; linking his corp
// identity (after his password) and, later, signing in by it both end on
// the code page, not at the client; only the code then completes the
// request, and the ID token's subject is bob.
func TestSocialLoginAsksSecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := openSocialApp(t, be, 0)
		w := newSocialWorld(t, ta)
		w.upstreamUser("bob@corp.example", "Upstream-pass-8402", true)
		bob := ta.userWithPassword(w.shop.ID, "bob@corp.example", "Shop-pass-2748")
		acct := ta.browser()
		acct.signIn("shop", "bob@corp.example", "Shop-pass-2748")
		secret, _ := enrolTOTP(t, acct, "shop")

		// Linking after the password: the code page, not the client.
		b := ta.browser()
		link := w.viaCorp(b, w.authorize(b), "bob@corp.example", "Upstream-pass-8402")
		p := b.walk(b.post("/t/shop/connections/link", form("csrf", match(t, csrfRE, link), "state", match(t, hiddenStRE, link),
			"password", "Shop-pass-2748")))
		if p.status != http.StatusOK || !strings.Contains(p.body, `autocomplete="one-time-code"`) {
			t.Fatalf("link of a TOTP user: %d %s %.300s", p.status, p.location(), p.body)
		}

		// Signing in by the linked identity: the code page again.
		b = ta.browser()
		p = w.viaCorp(b, w.authorize(b), "bob@corp.example", "Upstream-pass-8402")
		if p.status != http.StatusOK || !strings.Contains(p.body, `autocomplete="one-time-code"`) {
			t.Fatalf("social login of a TOTP user: %d %s %.300s", p.status, p.location(), p.body)
		}
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the enrolment spent this step
		p = b.post("/t/shop/login/mfa", form("csrf", match(t, csrfRE, p), "id", match(t, hiddenIDRE, p), "code", code))
		if sub := w.code(b, b.walk(p)); sub != bob.ID {
			t.Fatalf("after the code: sub %s, want %s", sub, bob.ID)
		}
	})
}
