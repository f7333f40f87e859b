package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// mailLinkRE finds a mailed link of a tenant page carrying a token.
var mailLinkRE = regexp.MustCompile(`http://127\.0\.0\.1(/t/[a-z0-9-]+/[a-z/]+)\?token=([A-Za-z0-9_%-]+)`)

// mailedLink answers the path and token of the one mail to to whose link
// goes to path, from the mails delivered since the last clearMails.
func (ta *testApp) mailedLink(to, path string) (string, string) {
	ta.t.Helper()
	for _, m := range ta.mails() {
		if m.To != "<"+to+">" && m.To != to {
			continue
		}
		for _, l := range mailLinkRE.FindAllStringSubmatch(m.Text, -1) {
			if l[1] == path {
				return l[1], l[2]
			}
		}
	}
	ta.t.Fatalf("no mail to %s with a link to %s in %v", to, path, ta.mails())
	return "", ""
}

// signUpAt signs up email with password in b on slug's sign-up page.
func (b *browserClient) signUpAt(slug, email, password string) {
	b.t.Helper()
	tok := b.csrf("/t/" + slug + "/signup")
	if p := b.post("/t/"+slug+"/signup", form("csrf", tok, "email", email, "password", password)); p.status != http.StatusOK {
		b.t.Fatalf("sign-up of %s: %d %s", email, p.status, p.body)
	}
}

// followLink opens a mailed link's confirmation page in b and confirms it.
func (b *browserClient) followLink(path, token string) page {
	b.t.Helper()
	tok := b.csrf(path + "?token=" + token)
	return b.post(path, form("csrf", tok, "token", token))
}

// passwordSignIn tries email and password on slug's account sign-in page
// and reports whether it signed in.
func (b *browserClient) passwordSignIn(slug, email, password string) bool {
	b.t.Helper()
	tok := b.csrf("/t/" + slug + "/account/login")
	p := b.post("/t/"+slug+"/account/login", form("csrf", tok, "identifier", email, "password", password))
	return p.status == http.StatusSeeOther && strings.HasPrefix(p.location(), "/t/"+slug+"/account")
}

// TestSignupPasswordNeedsSignupBrowser: someone signs up with another
// person's address and a password of their own. When the owner of the
// mailbox first proves it in another browser (an email sign-in link, or
// the verification link), the password chosen at sign-up goes with what
// else was planted, so the impostor cannot sign in with it; with
// require_verified_email too. Whoever signed up and verifies in the same
// browser keeps the password.
func TestSignupPasswordNeedsSignupBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, requireVerified := range []bool{false, true} {
			name := "verified email optional"
			if requireVerified {
				name = "require_verified_email"
			}
			t.Run(name, func(t *testing.T) {
				ta := newTestApp(t, be)
				tn := ta.tenant("acme")
				if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
					body: map[string]any{"settings": map[string]any{"self_service": map[string]any{"signup": "open", "passwordless": true,
						"require_verified_email": requireVerified}}}}); r.status != http.StatusOK {
					t.Fatalf("patch settings: %d %s", r.status, r.body)
				}
				const impostorPW, ownerPW = "plum orchard at midnight", "a shelf of cold lanterns"

				// The victim proves the mailbox by an email sign-in link.
				impostor := ta.browser()
				impostor.signUpAt("acme", "victim@example.com", impostorPW)
				ta.clearMails()
				victim := ta.browser()
				tok := victim.csrf("/t/acme/login/email")
				if p := victim.post("/t/acme/login/email", form("csrf", tok, "email", "victim@example.com")); p.status != http.StatusOK {
					t.Fatalf("email sign-in: %d", p.status)
				}
				if p := victim.followLink(ta.mailedLink("victim@example.com", "/t/acme/login/email")); p.status != http.StatusSeeOther {
					t.Fatalf("email sign-in link: %d %s", p.status, p.body)
				}
				if ta.browser().passwordSignIn("acme", "victim@example.com", impostorPW) {
					t.Error("the impostor signed in with the password set before the owner proved the mailbox (email sign-in)")
				}

				// The victim follows the verification link the impostor's
				// sign-up sent.
				ta.clearMails()
				impostor.signUpAt("acme", "victim2@example.com", impostorPW)
				victim.followLink(ta.mailedLink("victim2@example.com", "/t/acme/verify"))
				if ta.browser().passwordSignIn("acme", "victim2@example.com", impostorPW) {
					t.Error("the impostor signed in with the password set before the owner proved the mailbox (verification link)")
				}

				// Whoever signs up and verifies in the same browser keeps
				// the password.
				ta.clearMails()
				owner := ta.browser()
				owner.signUpAt("acme", "owner@example.com", ownerPW)
				if p := owner.followLink(ta.mailedLink("owner@example.com", "/t/acme/verify")); p.status != http.StatusOK {
					t.Fatalf("verification in the sign-up browser: %d", p.status)
				}
				if !owner.passwordSignIn("acme", "owner@example.com", ownerPW) {
					t.Error("the password chosen at sign-up was lost after verifying in the same browser")
				}
				if u, err := ta.DB.Users().GetUserByEmail(t.Context(), tn.ID, "victim@example.com"); err != nil || u.PasswordHash != "" || !u.EmailVerified {
					t.Errorf("victim after the proof: %+v %v", u, err)
				}
			})
		}
	})
}
