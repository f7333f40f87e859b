package server

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mailLinkRE finds a mailed link of a tenant page carrying a token.
var mailLinkRE = regexp.MustCompile(`http://127\.0\.0\.1(?::[0-9]+)?(/t/[a-z0-9-]+/[a-z/]+)\?token=([A-Za-z0-9_%-]+)`)

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

// followLink opens a mailed link's page in b and submits its form with
// the extra fields kv.
func (b *browserClient) followLink(path, token string, kv ...string) page {
	b.t.Helper()
	tok := b.csrf(path + "?token=" + token)
	return b.post(path, form(append([]string{"csrf", tok, "token", token}, kv...)...))
}

// resetPassword resets email's password on slug's pages in b.
func (ta *testApp) resetPassword(b *browserClient, slug, email, password string) {
	ta.t.Helper()
	ta.clearMails()
	tok := b.csrf("/t/" + slug + "/password/forgot")
	if p := b.post("/t/"+slug+"/password/forgot", form("csrf", tok, "email", email)); p.status != http.StatusOK {
		ta.t.Fatalf("forgot password: %d", p.status)
	}
	path, token := ta.mailedLink(email, "/t/"+slug+"/password/reset")
	if p := b.followLink(path, token, "password", password); p.status != http.StatusOK {
		ta.t.Fatalf("reset password: %d %.300s", p.status, p.body)
	}
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
				if p := victim.followLink(ta.mailedLink("victim2@example.com", "/t/acme/verify")); p.status != http.StatusOK ||
					!strings.Contains(p.body, "password chosen at sign-up was removed") {
					t.Errorf("verification in another browser: %d %.300s", p.status, p.body)
				}
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
					t.Errorf("victim after the proof: verified %v, password kept %v, %v", u != nil && u.EmailVerified, u != nil && u.PasswordHash != "", err)
				}
			})
		}
	})
}

// TestUpstreamVerifiedAddressClaimedByMail: an account created by social
// login on an upstream's word that the address is verified is not proven
// here: the owner's first proof by mail (a password reset) removes the
// identity linked before it. An identity of a connection the tenant
// trusts for the address (its domains) stays.
func TestUpstreamVerifiedAddressClaimedByMail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := openSocialApp(t, be, 0)
		w, key := newShop(t, ta)
		login := func(name string, f *fakeProvider, code, sub, email string) *store.User {
			t.Helper()
			f.set(func(f *fakeProvider) {
				f.claims = map[string]any{"sub": sub, "aud": f.clientID, "email": email, "email_verified": true}
			})
			b := ta.browser()
			q := f.expect(t, w.start(b, name), code)
			toApp(t, b.walk(b.get("/t/shop/connections/"+name+"/callback?code="+code+"&state="+url.QueryEscape(q.Get("state")))))
			u := w.mustUser(email)
			if ids := w.identities(u.ID); !u.EmailVerified || len(ids) != 1 {
				t.Fatalf("%s user %s: verified %v, %d identities", name, email, u.EmailVerified, len(ids))
			}
			return u
		}
		social := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "oidc", "name": "social", "display_name": "Social",
			"issuer": social.srv.URL, "client_id": social.clientID, "client_secret": social.secret})
		corp := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "oidc", "name": "corp", "display_name": "Corp",
			"issuer": corp.srv.URL, "client_id": corp.clientID, "client_secret": corp.secret, "domains": []string{"corp.example"}})

		jane := login("social", social, "code-1", "social-jane", "jane@example.com")
		ken := login("corp", corp, "code-2", "corp-ken", "ken@corp.example")

		ta.resetPassword(ta.browser(), "shop", "jane@example.com", "a shelf of cold lanterns")
		if ids := w.identities(jane.ID); len(ids) != 0 {
			t.Errorf("identity linked before the owner's first proof by mail survived: %+v", ids)
		}
		ta.resetPassword(ta.browser(), "shop", "ken@corp.example", "a shelf of cold lanterns")
		if ids := w.identities(ken.ID); len(ids) != 1 {
			t.Errorf("identity of a connection trusted for the domain: %d after the reset, want 1", len(ids))
		}
		// The address is proven now: a second reset claims nothing.
		if !ta.browser().passwordSignIn("shop", "jane@example.com", "a shelf of cold lanterns") {
			t.Error("the owner cannot sign in with the password of the reset")
		}
	})
}
