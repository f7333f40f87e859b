package server

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestSocialUserinfo: when the ID token lacks the email, the broker reads
// the upstream's userinfo (OpenID Connect Core 5.4) and creates the user
// with the address found there; a userinfo answer about another subject
// ends the login on a friendly page, audited, with no user made.
func TestSocialUserinfo(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := openSocialApp(t, be, 0)
		w, key := newShop(t, ta)
		f := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "oidc", "name": "idp", "display_name": "IdP", "issuer": f.srv.URL,
			"client_id": f.clientID, "client_secret": f.secret})
		callback := func(b *browserClient, code, state string) page {
			return b.walk(b.get("/t/shop/connections/idp/callback?" + url.Values{"code": {code}, "state": {state}}.Encode()))
		}

		f.set(func(f *fakeProvider) {
			f.claims = map[string]any{"sub": "user-2"}
			f.userinfo = map[string]any{"sub": "user-2", "email": "two@idp.example", "email_verified": true, "given_name": "Two"}
		})
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-userinfo")
		toApp(t, callback(b, "c-userinfo", q.Get("state")))
		u := w.mustUser("two@idp.example")
		if !u.EmailVerified || u.GivenName != "Two" {
			t.Errorf("user from userinfo %+v", u)
		}

		f.set(func(f *fakeProvider) {
			f.claims = map[string]any{"sub": "user-3"}
			f.userinfo = map[string]any{"sub": "user-4", "email": "victim@idp.example", "email_verified": true}
		})
		b = ta.browser()
		q = f.expect(t, w.start(b, "idp"), "c-mismatch")
		w.failed(t, callback(b, "c-mismatch", q.Get("state")), http.StatusBadGateway, "userinfo_subject_mismatch")
		if _, err := ta.DB.Users().GetUserByEmail(context.Background(), w.shop.ID, "victim@idp.example"); err == nil {
			t.Error("a mismatching userinfo answer created its user")
		}
	})
}
