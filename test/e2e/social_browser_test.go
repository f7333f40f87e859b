package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// TestBrowserSocialLogin: in chromium, an app of tenant default signs a
// user in through the "Corp SSO" button, whose upstream OpenID Provider is
// tenant corp of the same server: the user is created just in time, and
// no page breaks its Content-Security-Policy on the way (the login form's
// POST ends at the upstream, which form-action must allow).
func TestBrowserSocialLogin(t *testing.T) {
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(201, "POST", "/api/v1/tenants", map[string]any{"slug": "corp", "name": "Corp"})
	const email, password = "ines@corp.example", "upstream 4471 pass"
	api.must(201, "POST", "/api/v1/tenants/corp/users", map[string]any{
		"email": email, "password": password, "given_name": "Ines", "email_verified": true})
	var up struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	api.must(201, "POST", "/api/v1/tenants/corp/clients", map[string]any{"name": "Default tenant",
		"redirect_uris": []string{n.URL + "/t/default/connections/corp/callback"}}).json(t, &up)
	api.must(201, "POST", "/api/v1/tenants/default/connections", map[string]any{"type": "oidc", "name": "corp",
		"display_name": "Corp SSO", "issuer": n.URL + "/t/corp", "client_id": up.ClientID, "client_secret": up.ClientSecret,
		"scopes": []string{"openid", "email", "profile"}})

	prov, err := gooidc.NewProvider(context.Background(), n.URL+"/t/default")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cbs := newBrowserCallbacks(t)
	rp := newBrowserRP(t, env, prov, "Social App", cbs.srv.URL+"/cb1")

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, chromiumPath(t))
	var plog pageLog
	plog.listen(bctx, t)

	a := rp.request()
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(a.URL))
	if err != nil || res.Status != http.StatusOK || !strings.HasPrefix(res.URL, n.URL+"/t/default/login?") {
		t.Fatalf("authorize: %v %+v", err, res)
	}
	button := chromedp.CSS(`form[action="/t/default/connections/corp/start"] button`)
	if label, err := chromedp.Run(bctx, chromedp.Text(button)); err != nil || !strings.Contains(label, "Corp SSO") {
		t.Fatalf("Corp SSO button %q: %v", label, err)
	}
	res, err = chromedp.RunResponse(bctx, chromedp.Click(button))
	_, documents, console := plog.take()
	noCSPViolation(t, "to the upstream", console)
	if err != nil || !strings.HasPrefix(res.URL, n.URL+"/t/corp/login?") {
		t.Fatalf("button led to %+v, %v (documents %v)", res, err, documents)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password),
	); err != nil {
		t.Fatalf("fill corp's login form: %v", err)
	}
	res, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	_, documents, console = plog.take()
	noCSPViolation(t, "back from the upstream", console)
	if err != nil {
		t.Fatalf("corp login: %v (documents %v)\n%s", err, documents, n.Logs())
	}
	q := cbs.wait(t, ctx, "/cb1")
	if q.Get("code") == "" || q.Get("state") != a.State {
		t.Fatalf("app got %v (documents %v)", q, documents)
	}
	_, claims := rp.redeem(t, ctx, a, q.Get("code"))
	if claims.Email != email || !slices.Contains(claims.AMR, "fed") {
		t.Fatalf("claims %+v", claims)
	}
	var users struct {
		Items []struct {
			Email         string `json:"email"`
			EmailVerified bool   `json:"email_verified"`
			GivenName     string `json:"given_name"`
		} `json:"items"`
	}
	raw := api.must(200, "GET", "/api/v1/tenants/default/users", nil)
	if err := json.Unmarshal(raw.Body, &users); err != nil || len(users.Items) != 1 || users.Items[0].Email != email ||
		!users.Items[0].EmailVerified || users.Items[0].GivenName != "Ines" {
		t.Fatalf("default tenant users %s (%v)", raw.Body, err)
	}
}
