package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestOIDCAuthorize drives the authorization endpoint, the hosted login's
// prompt handling and RP-initiated logout of the real server: redirect URIs
// compared exactly and never redirected to when unregistered, PKCE S256
// required of public clients and plain refused, prompt=none/login and SSO
// across clients, and no open redirect through logout.
func TestOIDCAuthorize(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", adaEmail, adaPW)
			m := d.discover(t, "default")
			t.Run("RedirectURIExact", func(t *testing.T) { testRedirectURIExact(t, d, m) })
			t.Run("PKCEAtAuthorize", func(t *testing.T) { testPKCEAtAuthorize(t, d, m) })
			t.Run("PromptAndSSO", func(t *testing.T) { testPromptAndSSO(t, d, m) })
			t.Run("LogoutOpenRedirect", func(t *testing.T) { testLogoutOpenRedirect(t, d, m) })
			t.Run("AuthorizeErrorCarriesIss", func(t *testing.T) { testAuthorizeErrorIss(t, d, m) })
			t.Run("ResponseMode", func(t *testing.T) { testResponseMode(t, d, m) })
		})
	}
}

// authURL is r's authorization request with PKCE S256, changed by set.
func (r *rp) authURL(state string, set func(q url.Values)) string {
	u, err := url.Parse(r.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		r.t.Fatal(err)
	}
	q := u.Query()
	if set != nil {
		set(q)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// clientError fails unless res is a redirect to redirect carrying error
// code and state, without a code, issued straight from /authorize. (iss is
// checked by AuthorizeErrorCarriesIss.)
func clientError(t *testing.T, what string, res oauthResp, redirect, code, state string) {
	t.Helper()
	loc := res.Header.Get("Location")
	if res.Status != http.StatusFound && res.Status != http.StatusSeeOther || !strings.HasPrefix(loc, redirect+"?") {
		t.Errorf("%s: %d Location %q, want a redirect to the client with an error: %.300s", what, res.Status, loc, res.Raw)
		return
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("error") != code || q.Get("state") != state || q.Has("code") {
		t.Errorf("%s: error response %v, want error=%s state=%s and no code", what, q, code, state)
	}
}

func testRedirectURIExact(t *testing.T, d *deployment, m opMeta) {
	r := d.rp(t, "default")
	pub := d.rp(t, "default", "--public")
	// Control: the registered URI goes on to the login page.
	ok := get(t, nil, r.authURL("s", nil))
	if ok.Status != http.StatusFound || !strings.HasPrefix(ok.Header.Get("Location"), m.Issuer+"/login?") {
		t.Fatalf("registered redirect_uri: %d Location %q %s", ok.Status, ok.Header.Get("Location"), ok.Raw)
	}
	reg, _ := url.Parse(r.redirect)
	port, _ := strconv.Atoi(reg.Port())
	off := map[string]string{
		"another host":         "http://evil.example/cb",
		"trailing slash":       r.redirect + "/",
		"one more character":   r.redirect + "x",
		"one character less":   strings.TrimSuffix(r.redirect, "b"),
		"case of the path":     strings.Replace(r.redirect, "/cb", "/cB", 1),
		"added query":          r.redirect + "?next=http://evil.example/",
		"fragment":             r.redirect + "#x",
		"other port":           "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)) + "/cb",
		"localhost for the IP": "http://localhost:" + reg.Port() + "/cb",
		"https":                "https://" + reg.Host + "/cb",
		"userinfo trick":       "http://" + reg.Host + "@evil.example/cb",
		"dot segment":          "http://" + reg.Host + "/x/../cb",
		"encoded":              "http://" + reg.Host + "/%63b",
	}
	for what, uri := range off {
		res := get(t, nil, r.authURL("s", func(q url.Values) { q.Set("redirect_uri", uri) }))
		if loc := res.Header.Get("Location"); loc != "" || res.Status != http.StatusBadRequest || res.errCode() != "invalid_request" {
			t.Errorf("redirect_uri %s (%s): %d %q Location %q, want 400 invalid_request and no redirect", what, uri, res.Status, res.errCode(), loc)
		}
	}
	res := get(t, nil, r.authURL("s", func(q url.Values) { q.Del("redirect_uri") }))
	if res.Header.Get("Location") != "" || res.Status != http.StatusBadRequest || res.errCode() != "invalid_request" {
		t.Errorf("no redirect_uri: %d Location %q %s", res.Status, res.Header.Get("Location"), res.Raw)
	}
	// A refused request made no authorization request: the client's error
	// is not sent to a URI it did not register, even with a bad client.
	res = get(t, nil, r.authURL("s", func(q url.Values) {
		q.Set("redirect_uri", "http://evil.example/cb")
		q.Set("response_type", "token")
		q.Set("code_challenge_method", "plain")
	}))
	if res.Header.Get("Location") != "" || res.Status != http.StatusBadRequest {
		t.Errorf("unregistered redirect_uri with other errors: %d Location %q", res.Status, res.Header.Get("Location"))
	}

	// A native (public) client may change the loopback port only (RFC 8252 7.3).
	preg, _ := url.Parse(pub.redirect)
	pport, _ := strconv.Atoi(preg.Port())
	for what, uri := range map[string]string{
		"one more character": pub.redirect + "x",
		"another host":       "http://evil.example/cb",
		"other path":         "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(pport+1)) + "/cbx",
	} {
		res := get(t, nil, pub.authURL("s", func(q url.Values) { q.Set("redirect_uri", uri) }))
		if loc := res.Header.Get("Location"); loc != "" || res.Status != http.StatusBadRequest || res.errCode() != "invalid_request" {
			t.Errorf("public client, redirect_uri %s (%s): %d %q Location %q", what, uri, res.Status, res.errCode(), loc)
		}
	}
	// ... and the port is free: another loopback port, same path, is accepted.
	otherPort := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(pport+1)) + preg.Path
	res = get(t, nil, pub.authURL("s", func(q url.Values) { q.Set("redirect_uri", otherPort) }))
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "/login?id=") {
		t.Errorf("public client, loopback redirect on another port: %d Location %q", res.Status, loc)
	}
}

// testResponseMode: query and form_post go on to the login; any other
// response_mode is refused with invalid_request at the registered
// redirect URI (in its query), not silently answered in the query.
func testResponseMode(t *testing.T, d *deployment, m opMeta) {
	r := d.rp(t, "default")
	for _, mode := range []string{"query", "form_post"} {
		res := get(t, nil, r.authURL("s", func(q url.Values) { q.Set("response_mode", mode) }))
		if res.Status != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), m.Issuer+"/login?") {
			t.Errorf("response_mode=%s: %d Location %q", mode, res.Status, res.Header.Get("Location"))
		}
	}
	for _, mode := range []string{"fragment", "web_message", "query.jwt", "form_post.jwt", "nonsense"} {
		state := "st-" + mode
		clientError(t, "response_mode="+mode, get(t, nil, r.authURL(state, func(q url.Values) { q.Set("response_mode", mode) })),
			r.redirect, "invalid_request", state)
	}
}

func testPKCEAtAuthorize(t *testing.T, d *deployment, m opMeta) {
	pub := d.rp(t, "default", "--public")
	pub.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if pub.conf.ClientSecret != "" {
		t.Fatalf("public client has a secret")
	}
	conf := d.rp(t, "default")
	for what, c := range map[string]struct {
		r   *rp
		set func(url.Values)
	}{
		"public client without code_challenge": {pub, func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
		"public client with plain": {pub, func(q url.Values) {
			q.Set("code_challenge", strings.Repeat("a", 43))
			q.Set("code_challenge_method", "plain")
		}},
		"public client without a method": {pub, func(q url.Values) { q.Del("code_challenge_method") }},
		"confidential client with plain": {conf, func(q url.Values) {
			q.Set("code_challenge", strings.Repeat("a", 43))
			q.Set("code_challenge_method", "plain")
		}},
		"confidential client without a method": {conf, func(q url.Values) { q.Del("code_challenge_method") }},
		"an unknown method":                    {conf, func(q url.Values) { q.Set("code_challenge_method", "S512") }},
	} {
		state := "st-" + strings.ReplaceAll(what, " ", "-")
		clientError(t, what, get(t, nil, c.r.authURL(state, c.set)), c.r.redirect, "invalid_request", state)
	}

	// A public client with S256 signs in, and its code needs the verifier.
	g := pub.code(adaEmail, adaPW)
	res := postForm(t, m.Token, url.Values{"grant_type": {"authorization_code"}, "code": {g.code},
		"redirect_uri": {pub.redirect}, "client_id": {pub.conf.ClientID}}, "", "")
	wantErr(t, "public client without code_verifier", res, 400, "invalid_grant")
	g = pub.code("", "")
	tok, err := pub.conf.Exchange(context.Background(), g.code, oauth2.VerifierOption(g.verifier))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("public client with its verifier: %v", err)
	}
}

func testPromptAndSSO(t *testing.T, d *deployment, m opMeta) {
	ctx := context.Background()
	a := d.rp(t, "default")
	none := oauth2.SetAuthURLParam("prompt", "none")

	// No session: prompt=none answers login_required to the client.
	res := get(t, a.browser, a.authURL("quiet-1", func(q url.Values) { q.Set("prompt", "none") }))
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.Status != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), a.redirect+"?") {
		t.Fatalf("prompt=none without a session: %d Location %q %.300s", res.Status, res.Header.Get("Location"), res.Raw)
	}
	if q := loc.Query(); q.Get("error") != "login_required" || q.Get("state") != "quiet-1" || q.Get("iss") != m.Issuer || q.Has("code") {
		t.Errorf("prompt=none without a session: %v", q)
	}

	// Log in with client A.
	tokA := a.tokens(adaEmail, adaPW)
	idA := verifyID(t, a, tokA)

	// prompt=none now succeeds silently.
	g := a.code("", "", none)
	if _, err := a.conf.Exchange(ctx, g.code, oauth2.VerifierOption(g.verifier)); err != nil {
		t.Fatalf("prompt=none with a session: %v", err)
	}

	// Client B in the same browser: SSO, no form (authorize fails on one).
	b := d.rp(t, "default")
	b.browser.Jar = a.browser.Jar
	tokB := b.tokens("", "")
	idB := verifyID(t, b, tokB)
	if idB.sub != idA.sub || idB.sid != idA.sid || idB.sid == "" {
		t.Errorf("SSO: client B got sub %q sid %q, client A sub %q sid %q", idB.sub, idB.sid, idA.sub, idA.sid)
	}

	// prompt=login shows the form despite the session, and the new login
	// is a new session (no fixation).
	res = get(t, b.browser, b.authURL("again", func(q url.Values) { q.Set("prompt", "login") }))
	if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), `autocomplete="current-password"`) {
		t.Fatalf("prompt=login with a session: %d %.300s", res.Status, res.Raw)
	}
	tokL := b.tokens(adaEmail, adaPW, oauth2.SetAuthURLParam("prompt", "login"))
	idL := verifyID(t, b, tokL)
	if idL.sub != idA.sub || idL.sid == idA.sid {
		t.Errorf("prompt=login: sid %q, before %q (want a new session)", idL.sid, idA.sid)
	}
	// max_age=0 also asks for the password again.
	res = get(t, b.browser, b.authURL("old", func(q url.Values) { q.Set("max_age", "0") }))
	if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), `autocomplete="current-password"`) {
		t.Errorf("max_age=0 with a session: %d Location %q", res.Status, res.Header.Get("Location"))
	}
}

type idClaims struct{ sub, sid string }

func verifyID(t *testing.T, r *rp, tok *oauth2.Token) idClaims {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return idClaims{sub: idt.Subject, sid: c.SID}
}

func testLogoutOpenRedirect(t *testing.T, d *deployment, m opMeta) {
	bye := freeRedirect(t, "/bye")
	r := d.rp(t, "default", "--post-logout-redirect-uri", bye)
	tok := r.tokens(adaEmail, adaPW)
	hint, _ := tok.Extra("id_token").(string)
	// The browser, stopping at every redirect.
	br := &http.Client{Jar: r.browser.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	logout := func(q url.Values) oauthResp { return get(t, br, m.EndSession+"?"+q.Encode()) }

	evil := "http://evil.example/landing"
	for what, q := range map[string]url.Values{
		"client_id and an unregistered URI":        {"client_id": {r.conf.ClientID}, "post_logout_redirect_uri": {evil}},
		"id_token_hint and an unregistered URI":    {"id_token_hint": {hint}, "post_logout_redirect_uri": {evil}},
		"a URI one character off":                  {"id_token_hint": {hint}, "post_logout_redirect_uri": {bye + "x"}},
		"the login redirect URI, not a logout one": {"client_id": {r.conf.ClientID}, "post_logout_redirect_uri": {r.redirect}},
	} {
		q.Set("state", "bye-state")
		res := logout(q)
		if loc := res.Header.Get("Location"); loc != "" || res.Status != http.StatusBadRequest || res.errCode() != "invalid_request" {
			t.Errorf("logout with %s: %d %q Location %q, want 400 invalid_request", what, res.Status, res.errCode(), loc)
		}
	}
	// The refused logouts left the session alone.
	if g := r.code("", "", oauth2.SetAuthURLParam("prompt", "none")); g.code == "" {
		t.Fatal("no code")
	}

	// The registered URI: logged out and sent there with the state.
	res := logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"bye-state"}})
	if loc := res.Header.Get("Location"); res.Status != http.StatusFound || loc != bye+"?state=bye-state" {
		t.Errorf("logout to the registered URI: %d Location %q %.300s", res.Status, loc, res.Raw)
	}
	quiet := get(t, r.browser, r.authURL("after", func(q url.Values) { q.Set("prompt", "none") }))
	if l, _ := url.Parse(quiet.Header.Get("Location")); l == nil || l.Query().Get("error") != "login_required" {
		t.Errorf("after logout prompt=none answered %d %q", quiet.Status, quiet.Header.Get("Location"))
	}

	// Without an id_token_hint the user confirms first (a cross-site link
	// must not sign anyone out); with nothing to check it against, the URI
	// is dropped: after confirming, the OP's own page.
	res = logout(url.Values{"post_logout_redirect_uri": {evil}})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), "Sign out?") || strings.Contains(string(res.Raw), "evil.example") {
		t.Fatalf("logout without a hint: %d %.300s", res.Status, res.Raw)
	}
	form := url.Values{}
	for _, mm := range regexp.MustCompile(`name="(csrf|confirm|post_logout_redirect_uri)" value="([^"]*)"`).FindAllStringSubmatch(string(res.Raw), -1) {
		form.Set(mm[1], mm[2])
	}
	req, _ := http.NewRequest("POST", m.EndSession, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noCSRF, _ := http.NewRequest("POST", m.EndSession, strings.NewReader("confirm=yes"))
	noCSRF.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := send(t, noCSRF); res.Status != http.StatusForbidden {
		t.Errorf("confirmation without the CSRF token: %d", res.Status)
	}
	out, err := br.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	loc := out.Header.Get("Location")
	if strings.Contains(loc, "evil.example") || !strings.HasPrefix(loc, m.Issuer+"/") && !strings.HasPrefix(loc, "/t/default/") {
		t.Errorf("logout with an unverifiable URI: %d Location %q", out.StatusCode, loc)
	}
}

// testAuthorizeErrorIss: an error sent back to the client carries iss, as
// every authorization response does (RFC 9207 2; SECURITY.md).
func testAuthorizeErrorIss(t *testing.T, d *deployment, m opMeta) {
	r := d.rp(t, "default")
	res := get(t, nil, r.authURL("iss-state", func(q url.Values) { q.Set("code_challenge_method", "plain") }))
	clientError(t, "plain", res, r.redirect, "invalid_request", "iss-state")
	if l, _ := url.Parse(res.Header.Get("Location")); l == nil || l.Query().Get("iss") != m.Issuer {
		t.Errorf("error response %q without iss=%s", res.Header.Get("Location"), m.Issuer)
	}
}
