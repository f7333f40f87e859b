package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	crewjam "github.com/crewjam/saml"
)

// TestSAMLBrowser: a SAML login in a real browser (Debian's chromium). The
// SP sends it to the IdP with the HTTP-Redirect binding, the person types
// the password, and the IdP's self-submitting form posts the response to
// the SP's ACS (a server of the test), under the pages' CSPs: a blocked
// script or form-action would stop it, and is reported as a failure.
func TestSAMLBrowser(t *testing.T) {
	exe := chromiumPath(t)
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{"email": samlUser, "password": samlPassword})

	results := make(chan string, 4)
	var sp *crewjam.ServiceProvider
	var requestID string
	acsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/acs" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		as, err := sp.ParseResponse(r, []string{requestID})
		msg := ""
		switch {
		case err != nil:
			msg = "error: " + err.Error()
			if ie, ok := err.(*crewjam.InvalidResponseError); ok {
				msg += ": " + fmt.Sprint(ie.PrivateErr)
			}
		default:
			msg = "nameid=" + as.Subject.NameID.Value + " relay=" + r.PostForm.Get("RelayState")
		}
		results <- msg
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>SP</title><h1 id=in>Signed in at the SP</h1>")
	}))
	t.Cleanup(acsSrv.Close)
	sp = newSP(t, n.URL, "default", "browser", false)
	sp.AcsURL = mustParse(t, acsSrv.URL+"/acs")
	registerSP(t, env, sp)

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)

	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding), crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	requestID = req.ID
	u, err := req.Redirect("from-browser", sp)
	if err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(u.String()))
	if err != nil {
		t.Fatalf("navigate to the IdP: %v", err)
	}
	if res.Status != http.StatusOK || !strings.HasPrefix(res.URL, n.URL+"/t/default/login?id=") {
		t.Fatalf("SSO ended at %d %s", res.Status, res.URL)
	}
	_, _, console := plog.take()
	noCSPViolation(t, "login page", console)
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), samlUser),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), samlPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	var got string
	select {
	case got = <-results:
	case <-time.After(30 * time.Second):
		_, documents, console := plog.take()
		t.Fatalf("the response never reached the ACS (documents %v, console %q)\n%s", documents, console, n.Logs())
	}
	_ = chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#in`)))
	_, documents, console := plog.take()
	noCSPViolation(t, "login and post to the ACS", console)
	if got != "nameid="+samlUser+" relay=from-browser" {
		t.Fatalf("ACS: %s (documents %v)", got, documents)
	}
	acs, _ := url.Parse(acsSrv.URL)
	t.Logf("reached %s: %v", acs.Host, documents)
}
