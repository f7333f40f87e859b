package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestBrowserLoginChallenge: after ten failures from this address the
// sign-in page asks for a challenge instead of locking; Chromium solves it
// with the page's script (allowed by the CSP nonce, no violation) and the
// owner signs in.
func TestBrowserLoginChallenge(t *testing.T) {
	exe := chromiumPath(t)
	dir := t.TempDir()
	env := testEnv(dir, "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "grace@example.com", "a compiler for everyone"
	var u struct {
		ID string `json:"id"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password}).json(t, &u)

	// Ten failures from 127.0.0.1 two minutes ago: the waits are over, the
	// count stands (it lapses 15 minutes after the last failure).
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	db, err := sqlstore.Open(ctx, "sqlite", filepath.Join(dir, "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := db.Tenants().GetTenantBySlug(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := db.OAuth().Throttle().Fail(ctx, tn.ID, "acct-user:"+u.ID+"@127.0.0.1", time.Now().Add(-2*time.Minute), 15*time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account/login")); err != nil {
		t.Fatal(err)
	}
	signIn := func() {
		t.Helper()
		if err := chromedp.Do(bctx,
			chromedp.SetValue(chromedp.CSS("#identifier"), email),
			chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		); err != nil {
			t.Fatal(err)
		}
	}
	signIn()
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("form[data-challenge]"))); err != nil {
		t.Fatalf("no challenge after ten failures: %v", err)
	}
	started := time.Now()
	signIn() // the script solves, then submits
	deadline := time.Now().Add(45 * time.Second)
	for {
		loc, err := chromedp.Run(bctx, chromedp.Location())
		if err == nil && strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], "/t/default/account") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not signed in after the challenge: at %s (%v)", loc, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("challenge solved and signed in within %v", time.Since(started).Round(time.Millisecond))
	_, _, console := plog.take()
	noCSPViolation(t, "challenge", console)
}
