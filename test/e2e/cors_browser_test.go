package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// spaPage is a single-page app as browser apps are written: it makes a
// PKCE pair with WebCrypto, reads the discovery document, sends the
// browser to authorize, and on /cb exchanges the code and calls userinfo
// with fetch() from its own origin; it writes what it got into #out.
const spaPage = `<!doctype html><meta charset="utf-8"><title>SPA</title><pre id="out"></pre><script>
const issuer = %q, clientId = %q, redirect = location.origin + "/cb";
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const out = (v) => { document.getElementById("out").textContent = JSON.stringify(v); };
async function start() {
  const verifier = b64(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const disc = await (await fetch(issuer + "/.well-known/openid-configuration")).json();
  sessionStorage.setItem("pkce", verifier);
  sessionStorage.setItem("state", b64(crypto.getRandomValues(new Uint8Array(16))));
  sessionStorage.setItem("disc", JSON.stringify(disc));
  location = disc.authorization_endpoint + "?" + new URLSearchParams({response_type: "code", client_id: clientId,
    redirect_uri: redirect, scope: "openid email profile", state: sessionStorage.getItem("state"),
    code_challenge: challenge, code_challenge_method: "S256"});
}
async function callback() {
  const q = new URLSearchParams(location.search), disc = JSON.parse(sessionStorage.getItem("disc"));
  if (q.get("state") !== sessionStorage.getItem("state")) { out({error: "state mismatch"}); return; }
  const tr = await fetch(disc.token_endpoint, {method: "POST", body: new URLSearchParams({grant_type: "authorization_code",
    code: q.get("code"), redirect_uri: redirect, client_id: clientId, code_verifier: sessionStorage.getItem("pkce")})});
  const tok = await tr.json();
  const ur = await fetch(disc.userinfo_endpoint, {headers: {Authorization: "Bearer " + tok.access_token}});
  const info = await ur.json();
  out({token_status: tr.status, userinfo_status: ur.status, email: info.email, refresh: !!tok.refresh_token});
}
(location.pathname === "/cb" ? callback() : start()).catch((e) => out({error: String(e)}));
</script>`

// strangerPage runs on an origin no client registered: discovery is
// public, the token endpoint must not be readable from it.
const strangerPage = `<!doctype html><meta charset="utf-8"><title>Stranger</title><pre id="out"></pre><script>
const issuer = %q, clientId = %q;
(async () => {
  const r = {};
  try { r.discovery = (await fetch(issuer + "/.well-known/openid-configuration")).status; } catch (e) { r.discovery = String(e); }
  try {
    const tr = await fetch(issuer + "/oauth/token", {method: "POST", body: new URLSearchParams({grant_type: "authorization_code",
      code: "x", redirect_uri: "http://127.0.0.1/cb", client_id: clientId, code_verifier: "v".repeat(43)})});
    r.token = tr.status;
  } catch (e) { r.token = "refused: " + e.name; }
  try { r.userinfo = (await fetch(issuer + "/userinfo", {headers: {Authorization: "Bearer x"}})).status; } catch (e) { r.userinfo = "refused: " + e.name; }
  document.getElementById("out").textContent = JSON.stringify(r);
})();
</script>`

// TestBrowserAppCORS: a single-page app served from another loopback
// origin (another port of 127.0.0.1) runs the authorization code flow with
// PKCE in Chromium, exchanging the code and calling userinfo with fetch();
// a page of an origin no client registered reads discovery but the browser
// refuses it the token and userinfo answers.
func TestBrowserAppCORS(t *testing.T) {
	n, env, api := setupOIDC(t)
	const email, password = "ada@example.com", "analytical engine 1843"
	mkUser(api, map[string]any{"email": email, "password": password, "email_verified": true})
	issuer := n.URL + "/t/default"

	var clientID string
	serve := func(page string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/favicon.ico" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, page, issuer, clientID)
		}))
		t.Cleanup(s.Close)
		return s
	}
	spa, stranger := serve(spaPage), serve(strangerPage)
	if spa.URL == n.URL || stranger.URL == spa.URL {
		t.Fatal("the app, the stranger and the server share an origin")
	}
	clientID, _ = registered(t, env, "default", "--name", "SPA", "--public", "--redirect-uri", spa.URL+"/cb")

	exe := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	result := func(what string) map[string]any {
		t.Helper()
		raw, err := chromedp.Run(bctx, chromedp.Poll[string](`document.getElementById("out")?.textContent || ""`,
			chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("%s: no result: %v\n%s", what, err, n.Logs())
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("%s: %q: %v", what, raw, err)
		}
		return m
	}

	// The app starts the flow and lands on the hosted login page.
	user := chromedp.CSS(`input[autocomplete~="username"]`)
	pass := chromedp.CSS(`input[autocomplete="current-password"]`)
	if err := chromedp.Do(bctx, chromedp.Navigate(spa.URL+"/"), chromedp.WaitVisible(user),
		chromedp.SendKeys(user, email), chromedp.SendKeys(pass, password)); err != nil {
		t.Fatalf("app to login: %v\n%s", err, n.Logs())
	}
	res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil || !strings.HasPrefix(res.URL, spa.URL+"/cb?") {
		t.Fatalf("login: %v %+v", err, res)
	}
	got := result("app")
	if got["token_status"] != float64(200) || got["userinfo_status"] != float64(200) || got["email"] != email || got["refresh"] != true {
		t.Fatalf("the app's code exchange and userinfo from %s: %v", spa.URL, got)
	}

	// A page of an unregistered origin.
	if err := chromedp.Do(bctx, chromedp.Navigate(stranger.URL+"/")); err != nil {
		t.Fatal(err)
	}
	got = result("stranger")
	if got["discovery"] != float64(200) || got["token"] != "refused: TypeError" || got["userinfo"] != "refused: TypeError" {
		t.Fatalf("a page of %s (unregistered): %v", stranger.URL, got)
	}
}
