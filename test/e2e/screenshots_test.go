package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots renders the sign-up, sign-in and account pages at
// desktop (1280) and phone (390) width into $GATEHOUSE_SCREENSHOTS (the
// README's docs/img: `GATEHOUSE_SCREENSHOTS=$PWD/docs/img go test -run
// Screenshots ./test/e2e/`). Without the variable it skips.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		t.Skip("GATEHOUSE_SCREENSHOTS is not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := chromiumPath(t)
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"branding": map[string]any{"display_name": "Acme Travel", "primary_color": "#0b6e4f", "support_email": "help@acme.example"},
		"self_service": map[string]any{"signup": "open", "passwordless": true,
			"terms_url": "https://acme.example/terms", "terms_version": "1",
			"privacy_url": "https://acme.example/privacy", "privacy_version": "1"}}})
	const email, password = "ada@example.com", "analytical engine 1843"
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password,
		"given_name": "Ada", "family_name": "Lovelace", "email_verified": true})

	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	shoot := func(name string, width, height int64, url string, typed ...string) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(width, height), chromedp.Navigate(url)}
		for i := 0; i+1 < len(typed); i += 2 {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(typed[i]), typed[i+1]))
		}
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// No focus ring or caret in the picture.
		_, _ = chromedp.Run(bctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`))
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s (%d bytes)", p, len(png))
	}
	sizes := []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}}
	for _, size := range sizes {
		shoot("signup-"+size.name, size.width, size.height, n.URL+"/t/default/signup",
			"#email", "grace@example.com", "#password", "a long passphrase")
		shoot("login-"+size.name, size.width, size.height, n.URL+"/t/default/account/login")
	}
	// Sign in once; the session serves both account shots.
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password)); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil || res.Status != http.StatusOK || !strings.HasSuffix(strings.SplitN(res.URL, "?", 2)[0], "/account") {
		t.Fatalf("sign in: %v %v", res, err)
	}
	for _, size := range sizes {
		shoot("account-"+size.name, size.width, size.height, n.URL+"/t/default/account")
	}
}
