package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// profileInputs is what the test reads of the profile page: each field's
// input type, autocomplete token and label text, by input id.
type profileInputs map[string]struct {
	Type  string `json:"type"`
	Auto  string `json:"auto"`
	Label string `json:"label"`
}

const profileInputsJS = `(() => {
  const out = {};
  for (const e of document.querySelectorAll('form input[id^="f-"], form select[id^="f-"]')) {
    out[e.id] = {type: e.tagName === 'SELECT' ? 'select' : e.type, auto: e.getAttribute('autocomplete') || '',
      label: e.labels && e.labels.length ? e.labels[0].textContent.trim() : ''};
  }
  return out;
})()`

// TestBrowserProfileStep: a schema asks for five fields at sign-up; the
// first sign-in of an application shows one page with only them, in
// English and in German (ui_locales), at phone width without horizontal
// scrolling, every input labelled from the schema, with the right input
// types and autocomplete tokens; the user fills some, skips the skippable
// one, and lands back at the application with the answers stored.
func TestBrowserProfileStep(t *testing.T) {
	exe := chromiumPath(t)
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PUT", "/api/v1/tenants/default/profile-schema", map[string]any{"fields": []map[string]any{
		{"name": "company", "type": "string", "label": map[string]string{"en": "Company", "de": "Firma", "es": "Empresa"},
			"required_at": "signup", "autocomplete": "organization", "max_length": 120},
		{"name": "mobile", "type": "phone", "label": map[string]string{"en": "Mobile phone number for delivery notifications", "de": "Mobiltelefonnummer für Benachrichtigungen zur Lieferung"},
			"required_at": "signup", "autocomplete": "tel", "skippable": 1, "pii": true},
		{"name": "birthday", "type": "date", "label": map[string]string{"en": "Date of birth", "de": "Geburtsdatum"},
			"required_at": "signup", "autocomplete": "bday", "skippable": 1},
		{"name": "tier", "type": "enum", "enum": []string{"gold", "silver"}, "label": map[string]string{"en": "Membership tier", "de": "Mitgliedsstufe"},
			"required_at": "signup"},
		{"name": "newsletter", "type": "bool", "label": map[string]string{"en": "Send me the monthly newsletter", "de": "Monatlichen Newsletter senden"},
			"required_at": "signup"},
	}})
	prov, err := gooidc.NewProvider(context.Background(), n.URL+"/t/default")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cbs := newBrowserCallbacks(t)
	rp := newBrowserRP(t, env, prov, "Shop", cbs.srv.URL+"/cb")

	for _, tc := range []struct {
		lang, email, company, wantCompany, wantTier, submit string
	}{
		{"en", "ada@example.com", "Analytical Engines", "Company", "Membership tier", "Continue"},
		{"de", "emmy@example.com", "Algebra GmbH", "Firma", "Mitgliedsstufe", "Weiter"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			const password = "correct horse battery staple"
			var u struct {
				ID string `json:"id"`
			}
			api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": tc.email, "password": password,
				"email_verified": true}).json(t, &u)
			ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
			defer cancel()
			bctx := newBrowser(t, ctx, exe)
			var plog pageLog
			plog.listen(bctx, t)
			if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
				t.Fatal(err)
			}
			a := rp.request(oauth2.SetAuthURLParam("ui_locales", tc.lang))
			if err := chromedp.Do(bctx, chromedp.Navigate(a.URL),
				chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), tc.email),
				chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password)); err != nil {
				t.Fatalf("login form: %v", err)
			}
			res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
			if err != nil || res.Status != http.StatusOK || !strings.Contains(res.URL, "/t/default/login/profile?id=") {
				t.Fatalf("after sign-in: %v %+v", err, res)
			}
			checkPage(t, bctx, "profile "+tc.lang, tc.lang)
			_, _, console := plog.take()
			noCSPViolation(t, "profile page", console)
			in, err := chromedp.Run(bctx, chromedp.Evaluate[profileInputs](profileInputsJS))
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != 5 || in["f-company"].Type != "text" || in["f-company"].Auto != "organization" || in["f-company"].Label != tc.wantCompany ||
				in["f-mobile"].Type != "tel" || in["f-mobile"].Auto != "tel" || in["f-birthday"].Type != "date" || in["f-birthday"].Auto != "bday" ||
				in["f-tier"].Type != "select" || in["f-tier"].Label != tc.wantTier || in["f-newsletter"].Type != "checkbox" {
				t.Fatalf("profile inputs: %+v", in)
			}
			if !strings.HasPrefix(in["f-mobile"].Label, map[string]string{"en": "Mobile phone", "de": "Mobiltelefon"}[tc.lang]) {
				t.Errorf("mobile label %q", in["f-mobile"].Label)
			}
			browserScreenshot(t, bctx, "profile-"+tc.lang+".png")
			if err := chromedp.Do(bctx,
				chromedp.SendKeys(chromedp.CSS("#f-company"), tc.company),
				chromedp.SetValue(chromedp.CSS("#f-tier"), "silver"),
				chromedp.Click(chromedp.CSS("#f-newsletter")),
				chromedp.Click(chromedp.CSS("#s-mobile")),
				chromedp.Click(chromedp.CSS("#s-birthday")),
			); err != nil {
				t.Fatalf("fill the profile: %v", err)
			}
			if text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('form button[type="submit"]').textContent.trim()`)); err != nil || text != tc.submit {
				t.Errorf("submit button %q: %v", text, err)
			}
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
				t.Fatalf("submit: %v", err)
			}
			q := cbs.wait(t, ctx, "/cb")
			if q.Get("state") != a.State || q.Get("code") == "" {
				t.Fatalf("callback %v", q)
			}
			rp.redeem(t, ctx, a, q.Get("code"))
			var got struct {
				Attributes map[string]any `json:"attributes"`
			}
			api.must(200, "GET", "/api/v1/tenants/default/users/"+u.ID, nil).json(t, &got)
			if got.Attributes["company"] != tc.company || got.Attributes["tier"] != "silver" || got.Attributes["newsletter"] != true ||
				got.Attributes["mobile"] != nil {
				t.Fatalf("attributes after the profile page: %v", got.Attributes)
			}
		})
	}
}
