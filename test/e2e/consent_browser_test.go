package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestBrowserPrivacyPage walks the account page's privacy section in
// chromium at phone width, in English and German: the purposes with the
// user's state, granted and withdrawn by a click (the records API and the
// page agree at once), the communication channels and the tenant's
// topics, and the CCPA opt-out switch. Every page fits 390 px, labels
// every input and says its language.
func TestBrowserPrivacyPage(t *testing.T) {
	exe := chromiumPath(t)
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "dorothy@example.com", "vaughan fortran 1961"
	var user struct {
		ID string `json:"id"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password}).json(t, &user)
	api.must(201, "POST", "/api/v1/tenants/default/consent-purposes", map[string]any{"name": "newsletter", "version": "2026-12",
		"title":       map[string]string{"en": "Monthly newsletter", "de": "Monatlicher Newsletter mit Forschungsneuigkeiten"},
		"description": map[string]string{"en": "News from the research centre, once a month.", "de": "Neuigkeiten aus dem Forschungszentrum, einmal im Monat."}})
	api.must(201, "POST", "/api/v1/tenants/default/consent-purposes", map[string]any{"name": "terms", "version": "1", "required": true,
		"title": map[string]string{"en": "Terms of use", "de": "Nutzungsbedingungen"}})
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"communication": map[string]any{
		"topics": []map[string]any{{"name": "events", "label": map[string]string{"en": "Events and open days", "de": "Veranstaltungen und Tage der offenen Tür"}}}}}})

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
		t.Fatal(err)
	}
	// Signed out: the privacy page sends to sign-in.
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account/privacy")); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/t/default/account/login") {
		t.Fatalf("signed out, the privacy page went to %s", loc)
	}
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	click := func(step, sel string) {
		t.Helper()
		if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	records := func() []map[string]any {
		t.Helper()
		var out struct {
			Items []map[string]any `json:"items"`
		}
		api.must(200, "GET", "/api/v1/tenants/default/users/"+user.ID+"/consent-records", nil).json(t, &out)
		return out.Items
	}

	// English.
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account/privacy?ui_locales=en")); err != nil {
		t.Fatal(err)
	}
	checkPage(t, bctx, "privacy page", "en")
	if s := text("#purpose-newsletter .state"); !strings.Contains(s, "Not decided yet") {
		t.Errorf("newsletter state before: %q", s)
	}
	click("grant newsletter", `#purpose-newsletter form button`)
	if s := text(".notice"); !strings.Contains(s, "applies now") {
		t.Errorf("notice after granting: %q", s)
	}
	if s := text("#purpose-newsletter .state"); !strings.Contains(s, "Granted on") {
		t.Errorf("newsletter state after granting: %q", s)
	}
	if recs := records(); len(recs) != 1 || recs[0]["state"] != "granted" || recs[0]["how"] != "account" || recs[0]["version"] != "2026-12" {
		t.Errorf("records after granting: %v", recs)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#ch-email")), chromedp.Click(chromedp.CSS("#tp-events"))); err != nil {
		t.Fatal(err)
	}
	click("save communication", `form:has(input[value=communication]) button`)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#do_not_sell"))); err != nil {
		t.Fatal(err)
	}
	click("save rights", `form:has(input[value=rights]) button`)
	var prefs struct {
		Channels  map[string]bool `json:"channels"`
		Topics    map[string]bool `json:"topics"`
		DoNotSell bool            `json:"do_not_sell"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/users/"+user.ID+"/preferences", nil).json(t, &prefs)
	if !prefs.Channels["email"] || prefs.Channels["sms"] || !prefs.Topics["events"] || !prefs.DoNotSell {
		t.Errorf("preferences after the page: %+v", prefs)
	}
	browserScreenshot(t, bctx, "privacy-phone.png")

	// German: longer words still fit; withdraw there.
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account/privacy?ui_locales=de")); err != nil {
		t.Fatal(err)
	}
	checkPage(t, bctx, "privacy page de", "de")
	if s := text("#h-consents"); s != "Einwilligungen" {
		t.Errorf("German heading: %q", s)
	}
	if s := text("#purpose-newsletter strong"); s != "Monatlicher Newsletter mit Forschungsneuigkeiten" {
		t.Errorf("German purpose title: %q", s)
	}
	if checked, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('#do_not_sell').checked`)); err != nil || !checked {
		t.Errorf("the opt-out is not shown as set: %v", err)
	}
	click("widerrufen", `#purpose-newsletter form button`)
	if s := text(".notice"); !strings.Contains(s, "gilt ab sofort") {
		t.Errorf("German notice: %q", s)
	}
	checkPage(t, bctx, "privacy page de after withdrawal", "de")
	if s := text("#purpose-newsletter .state"); !strings.Contains(s, "Widerrufen am") {
		t.Errorf("newsletter state after withdrawing: %q", s)
	}
	recs := records()
	if last := recs[len(recs)-1]; last["purpose"] != "newsletter" || last["state"] != "withdrawn" {
		t.Errorf("newest record after withdrawing: %v", last)
	}
	_, _, console := plog.take()
	noCSPViolation(t, "privacy page", console)
}

// TestBrowserPurposesStep: a sign-in to an application in German at
// phone width meets the purposes page (fits, labelled, German texts);
// continuing without the required purpose is refused on the page; with
// it, the browser reaches the application, whose ID token's consents
// claim lists what was ticked.
func TestBrowserPurposesStep(t *testing.T) {
	exe := chromiumPath(t)
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "mary@example.com", "jackson wind tunnel 1958"
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password})
	api.must(201, "POST", "/api/v1/tenants/default/consent-purposes", map[string]any{"name": "terms", "version": "2026-12", "required": true,
		"title": map[string]string{"en": "Terms of use", "de": "Nutzungsbedingungen des Forschungszentrums"}})
	api.must(201, "POST", "/api/v1/tenants/default/consent-purposes", map[string]any{"name": "analytics", "version": "1",
		"title":       map[string]string{"en": "Usage analytics", "de": "Nutzungsanalyse"},
		"description": map[string]string{"en": "Helps us improve.", "de": "Hilft uns, den Dienst zu verbessern."}})

	prov, err := gooidc.NewProvider(context.Background(), n.URL+"/t/default")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if !slices.Contains(discoveredScopes(t, prov), "consents") {
		t.Error("discovery does not list the consents scope")
	}
	cbs := newBrowserCallbacks(t)
	rp := newBrowserRP(t, env, prov, "Purposes App", cbs.srv.URL+"/cb")
	rp.conf.Scopes = append(rp.conf.Scopes, "consents")

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
		t.Fatal(err)
	}
	a := rp.request(oauth2.SetAuthURLParam("ui_locales", "de"))
	if err := chromedp.Do(bctx, chromedp.Navigate(a.URL),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/t/default/purposes?") {
		t.Fatalf("after sign-in: %s, want the purposes page", loc)
	}
	checkPage(t, bctx, "purposes page de", "de")
	body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(body, "Nutzungsbedingungen des Forschungszentrums") || !strings.Contains(body, "zum Fortfahren erforderlich") {
		t.Errorf("the purposes page is not in German: %q", body)
	}
	browserScreenshot(t, bctx, "purposes-phone-de.png")
	// Continue with analytics alone: refused on the page, in German.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#p-analytics"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`button[value=save]`))); err != nil {
		t.Fatalf("continue: %v", err)
	}
	if s, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".error"))); !strings.Contains(s, "erforderlich") {
		t.Errorf("refusal message: %q", s)
	}
	checkPage(t, bctx, "purposes page de with an error", "de")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#p-terms"))); err != nil {
		t.Fatal(err)
	}
	if ok, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('#p-analytics').checked`)); !ok {
		t.Error("the refused form lost the analytics tick")
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`button[value=save]`))); err != nil {
		t.Fatalf("continue: %v", err)
	}
	q := cbs.wait(t, ctx, "/cb")
	tok, err := rp.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.Verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Consents []string `json:"consents"`
	}
	if err := idt.Claims(&claims); err != nil || !slices.Equal(claims.Consents, []string{"analytics", "terms"}) {
		t.Errorf("consents claim %v: %v", claims.Consents, err)
	}
	_, _, console := plog.take()
	noCSPViolation(t, "purposes page", console)
}

// discoveredScopes answers the provider's scopes_supported.
func discoveredScopes(t *testing.T, prov *gooidc.Provider) []string {
	t.Helper()
	var d struct {
		Scopes []string `json:"scopes_supported"`
	}
	if err := prov.Claims(&d); err != nil {
		t.Fatal(err)
	}
	return d.Scopes
}
