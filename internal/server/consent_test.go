package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// consentWorld is a tenant with a user, a confidential client asking for
// the consents scope, and an admin key.
type consentWorld struct {
	ta    *testApp
	t     *testing.T
	tn    *store.Tenant
	user  *store.User
	cfg   *oauth2.Config
	admin string
}

const consentPW = "correct horse battery"

func newConsentWorld(t *testing.T, be backend) *consentWorld {
	ta := newTestApp(t, be)
	tn := ta.tenant("acme")
	c, secret := ta.registered(tn.ID, oauthclient.NewClient{Name: "Shop"})
	cfg := ta.oauthConfig("acme", c, secret)
	cfg.Scopes = append(cfg.Scopes, "consents")
	return &consentWorld{ta: ta, t: t, tn: tn, user: ta.userWithPassword(tn.ID, "ada@example.com", consentPW), cfg: cfg,
		admin: "Bearer " + ta.key(tn.ID, "admin")}
}

func (w *consentWorld) api(method, path string, body any) *response {
	w.t.Helper()
	return w.ta.do(request{method: method, path: "/api/v1/tenants/acme" + path, auth: w.admin, body: body})
}

func (w *consentWorld) purpose(name, version string, required bool) {
	w.t.Helper()
	r := w.api("POST", "/consent-purposes", map[string]any{"name": name, "version": version, "required": required,
		"title":       map[string]string{"en": "Title of " + name, "de": "Titel von " + name},
		"description": map[string]string{"en": "Why " + name}})
	if r.status != http.StatusCreated {
		w.t.Fatalf("create purpose %s@%s: %s", name, version, r)
	}
}

// authorize starts the code flow in b: it answers the login request id
// (fresh browser) or, with a session, the page the login goes to.
func (w *consentWorld) authorize(b *browserClient, verifier string) page {
	w.t.Helper()
	return b.get(strings.TrimPrefix(w.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), w.ta.srv.URL))
}

// signIn signs b in through the client's authorization request; it
// answers the first page that is not a redirect within the server.
func (w *consentWorld) signIn(b *browserClient, verifier string) page {
	w.t.Helper()
	p := w.authorize(b, verifier)
	login, err := url.Parse(p.location())
	if err != nil || !strings.HasPrefix(login.Path, "/t/acme/login") {
		w.t.Fatalf("authorize: want the login page, got %d %q", p.status, p.location())
	}
	if q := b.get(login.RequestURI()); q.status != http.StatusOK {
		return b.walk(q) // the session is reused
	}
	return b.walk(passwordStep(w.t, b, "acme", login.Query().Get("id"), "ada@example.com", consentPW))
}

// answer posts the purposes page p (already loaded) with decision and
// the purposes ticked.
func (w *consentWorld) answer(b *browserClient, p page, decision string, grant ...string) page {
	w.t.Helper()
	v := url.Values{"csrf": {csrfRE.FindStringSubmatch(p.body)[1]}, "decision": {decision}, "grant": grant}
	v.Set("id", idFieldRE.FindStringSubmatch(p.body)[1])
	for _, m := range shownRE.FindAllStringSubmatch(p.body, -1) {
		v.Add("shown", m[1])
	}
	return b.post("/t/acme/purposes", v)
}

// exchange finishes the code flow at the client's redirect p and answers
// the verified ID token's consents claim and the access token.
func (w *consentWorld) exchange(p page, verifier string) ([]string, string) {
	w.t.Helper()
	u, err := url.Parse(p.location())
	if err != nil || u.Query().Get("code") == "" || !strings.HasPrefix(p.location(), w.cfg.RedirectURL+"?") {
		w.t.Fatalf("want a redirect with a code, got %d %q %.400s", p.status, p.location(), p.body)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, w.ta.srv.Client())
	tok, err := w.cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		w.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	v := gooidc.NewVerifier("http://127.0.0.1/t/acme", gooidc.NewRemoteKeySet(ctx, w.ta.srv.URL+"/t/acme/keys"),
		&gooidc.Config{ClientID: w.cfg.ClientID, SupportedSigningAlgs: []string{"RS256", "ES256", "EdDSA"}})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		w.t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Consents *[]string `json:"consents"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Consents == nil {
		w.t.Fatalf("ID token has no consents claim: %v", err)
	}
	return *claims.Consents, tok.AccessToken
}

// userinfoConsents answers the consents claim of userinfo for token.
func (w *consentWorld) userinfoConsents(token string) []string {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.ta.srv.URL+"/t/acme/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	st, body := w.ta.sendOAuth(req)
	list, ok := body["consents"].([]any)
	if st != http.StatusOK || !ok {
		w.t.Fatalf("userinfo: %d %v", st, body)
	}
	out := []string{}
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

func (w *consentWorld) records() []map[string]any {
	w.t.Helper()
	r := w.api("GET", "/users/"+w.user.ID+"/consent-records", nil)
	var out struct {
		Items []map[string]any `json:"items"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
		w.t.Fatalf("consent records: %s", r)
	}
	return out.Items
}

// TestConsentPurposesFollowTokens: a required and an optional purpose are
// asked on one page at the first sign-in to an application (the required
// one cannot be left unticked); the ID token and userinfo of a client
// asking for the consents scope carry what was granted. A new version of
// a purpose is asked at the next sign-in (here a reused session), and
// declining it takes it out of the claim. Withdrawing on the account
// page's privacy section takes effect at once (userinfo of the same
// access token), and the withdrawn required purpose is asked again at the
// next sign-in, where declining it ends the login. Every change is a
// record (how, IP, user agent) and an audit entry with the exact action.
func TestConsentPurposesFollowTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		w := newConsentWorld(t, be)
		w.purpose("terms", "1", true)
		w.purpose("newsletter", "2026-11", false)
		if r := w.api("POST", "/consent-purposes", map[string]any{"name": "terms", "version": "1",
			"title": map[string]string{"en": "Again"}}); r.status != http.StatusConflict || !strings.Contains(string(r.body), `"field":"version"`) {
			t.Errorf("same name and version again: %s", r)
		}
		if r := w.api("POST", "/consent-purposes", map[string]any{"name": "Bad Name", "version": "1",
			"title": map[string]string{"en": "x"}}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"field":"name"`) {
			t.Errorf("bad name: %s", r)
		}
		if r := w.api("POST", "/consent-purposes", map[string]any{"name": "ccpa.do_not_sell", "version": "1",
			"title": map[string]string{"en": "x"}}); r.status != http.StatusBadRequest {
			t.Errorf("reserved name: %s", r)
		}

		// First sign-in: both asked on one page.
		b := w.ta.browser()
		b.c.Transport = uaTransport{"ConsentTest/1.0"}
		verifier := oauth2.GenerateVerifier()
		p := w.signIn(b, verifier)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Title of terms") || !strings.Contains(p.body, "Title of newsletter") {
			t.Fatalf("first sign-in: want the purposes page with both, got %d %.300s", p.status, p.body)
		}
		if q := w.answer(b, p, "save", "newsletter"); q.status != http.StatusBadRequest {
			t.Fatalf("required purpose left unticked: %d, want 400", q.status)
		}
		if recs := w.records(); len(recs) != 0 {
			t.Fatalf("records after a refused form: %v", recs)
		}
		consents, access := w.exchange(b.walk(w.answer(b, p, "save", "newsletter", "terms")), verifier)
		if !slices.Equal(consents, []string{"newsletter", "terms"}) {
			t.Errorf("ID token consents = %v", consents)
		}
		if got := w.userinfoConsents(access); !slices.Equal(got, []string{"newsletter", "terms"}) {
			t.Errorf("userinfo consents = %v", got)
		}
		recs := w.records()
		if len(recs) != 2 || recs[0]["how"] != "login" || recs[0]["state"] != "granted" || recs[0]["user_agent"] != "ConsentTest/1.0" ||
			recs[0]["ip"] != "127.0.0.1" {
			t.Fatalf("records after the first sign-in: %v", recs)
		}

		// A second sign-in in a new browser asks nothing.
		verifier = oauth2.GenerateVerifier()
		if got, _ := w.exchange(w.signIn(w.ta.browser(), verifier), verifier); !slices.Equal(got, []string{"newsletter", "terms"}) {
			t.Errorf("second sign-in consents = %v", got)
		}

		// A new version of newsletter: asked again (alone) at the next
		// sign-in through the session; declined.
		w.purpose("newsletter", "2026-12", false)
		// prompt=none cannot show the page: the client hears consent_required.
		none := b.get(strings.TrimPrefix(w.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("prompt", "none")), w.ta.srv.URL))
		if login, err := url.Parse(none.location()); err == nil && strings.HasPrefix(login.Path, "/t/acme/login") {
			none = b.walk(b.get(login.RequestURI()))
		}
		if u, err := url.Parse(none.location()); err != nil || u.Query().Get("error") != "consent_required" ||
			!strings.HasPrefix(none.location(), w.cfg.RedirectURL+"?") {
			t.Errorf("prompt=none with a purpose to answer: %d %q", none.status, none.location())
		}
		verifier = oauth2.GenerateVerifier()
		p = w.signIn(b, verifier)
		if p.status != http.StatusOK || !strings.Contains(p.body, "newsletter@2026-12") || strings.Contains(p.body, "Title of terms") {
			t.Fatalf("after a version change: want the purposes page with newsletter alone, got %d %.300s", p.status, p.body)
		}
		consents, access = w.exchange(b.walk(w.answer(b, p, "save")), verifier)
		if !slices.Equal(consents, []string{"terms"}) {
			t.Errorf("consents after declining the new version = %v", consents)
		}

		// The account page: withdraw terms; userinfo of the same token
		// follows at once.
		priv := b.get("/t/acme/account/privacy")
		if priv.status != http.StatusOK || !strings.Contains(priv.body, `id="purpose-terms"`) {
			t.Fatalf("privacy page: %d", priv.status)
		}
		tok := csrfRE.FindStringSubmatch(priv.body)[1]
		if q := b.post("/t/acme/account/privacy/consents", form("csrf", tok, "purpose", "terms", "state", "withdrawn")); q.status != http.StatusSeeOther {
			t.Fatalf("withdraw on the account page: %d %s", q.status, q.body)
		}
		if q := b.post("/t/acme/account/privacy/consents", form("csrf", tok, "purpose", "nope", "state", "granted")); q.status != http.StatusBadRequest {
			t.Errorf("an unknown purpose on the account page: %d", q.status)
		}
		if got := w.userinfoConsents(access); len(got) != 0 {
			t.Errorf("userinfo after withdrawal = %v, want none", got)
		}
		if q := b.post("/t/acme/account/privacy/preferences", form("csrf", tok, "part", "rights", "do_not_sell", "yes")); q.status != http.StatusSeeOther {
			t.Fatalf("do not sell: %d", q.status)
		}
		if got := w.userinfoConsents(access); !slices.Equal(got, []string{"ccpa.do_not_sell"}) {
			t.Errorf("userinfo after the opt-out = %v", got)
		}

		// The next sign-in asks terms again; declining ends the login.
		verifier = oauth2.GenerateVerifier()
		p = w.signIn(b, verifier)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Title of terms") {
			t.Fatalf("after withdrawing terms: want the purposes page, got %d %q", p.status, p.location())
		}
		q := w.answer(b, p, "decline")
		if q.status != http.StatusForbidden || !strings.Contains(q.body, "You were not signed in") {
			t.Fatalf("declining a required purpose: %d %.300s", q.status, q.body)
		}
		if acc := b.get("/t/acme/account/privacy"); acc.status != http.StatusFound {
			t.Errorf("the session outlived the declined login: %d", acc.status)
		}

		var got []string
		for _, r := range w.records() {
			got = append(got, r["purpose"].(string)+"@"+r["version"].(string)+"="+r["state"].(string)+"/"+r["how"].(string))
		}
		want := []string{"newsletter@2026-11=granted/login", "terms@1=granted/login", "newsletter@2026-12=withdrawn/login",
			"terms@1=withdrawn/account", "ccpa.do_not_sell@1=granted/account"} // the refusal at login repeats the state: no record
		if !slices.Equal(got, want) {
			t.Errorf("records:\n got %v\nwant %v", got, want)
		}
		entries, err := w.ta.DB.Audit().ListAudit(context.Background(), w.tn.ID, store.AuditQuery{TargetID: w.user.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.ta.Privacy.Shredder.Open(context.Background(), w.ta.DB, entries); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range entries {
			if !strings.HasPrefix(e.Action, "consent.") && e.Action != "preferences.changed" {
				continue
			}
			counts[e.Action]++
			if strings.Contains(string(e.Changes), "ada@example.com") {
				t.Errorf("audit entry %s carries the email: %s", e.Action, e.Changes)
			}
			if e.Action == "consent.granted" && !strings.Contains(string(e.Changes), `"after":"login"`) &&
				!strings.Contains(string(e.Changes), `"after":"account"`) {
				t.Errorf("consent.granted without how: %s", e.Changes)
			}
		}
		if counts["consent.granted"] != 3 || counts["consent.withdrawn"] != 2 || counts["preferences.changed"] != 0 {
			t.Errorf("audit actions = %v", counts)
		}
	})
}

// TestPreferencesAPI: preferences through the API: channels and the
// tenant's topics (settings.communication.topics), an unknown one refused with
// its field named and nothing changed, the rights recorded as consents,
// one preferences.changed entry per change.
func TestPreferencesAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		w := newConsentWorld(t, be)
		if r := w.ta.do(request{method: "PATCH", path: "/api/v1/tenants/acme", auth: w.admin, body: map[string]any{
			"settings": map[string]any{"communication": map[string]any{"topics": []map[string]any{
				{"name": "offers", "label": map[string]string{"en": "Offers", "de": "Angebote"}}, {"name": "offers"}}}}}}); r.status != http.StatusBadRequest ||
			!strings.Contains(string(r.body), "settings.communication.topics[1].name") {
			t.Fatalf("duplicate topic: %s", r)
		}
		if r := w.ta.do(request{method: "PATCH", path: "/api/v1/tenants/acme", auth: w.admin, body: map[string]any{
			"settings": map[string]any{"communication": map[string]any{"topics": []map[string]any{
				{"name": "offers", "label": map[string]string{"en": "Offers", "de": "Angebote"}}}}}}}); r.status != http.StatusOK {
			t.Fatalf("topics: %s", r)
		}
		path := "/users/" + w.user.ID + "/preferences"
		r := w.api("GET", path, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"channels":{"email":false,"push":false,"sms":false}`) ||
			!strings.Contains(string(r.body), `"topics":{"offers":false}`) {
			t.Fatalf("preferences before: %s", r)
		}
		if r := w.api("PUT", path, map[string]any{"channels": map[string]bool{"email": true, "fax": true}}); r.status != http.StatusBadRequest ||
			!strings.Contains(string(r.body), `"field":"channels.fax"`) {
			t.Errorf("unknown channel: %s", r)
		}
		if r := w.api("PUT", path, map[string]any{"topics": map[string]bool{"cats": true}}); r.status != http.StatusBadRequest ||
			!strings.Contains(string(r.body), `"field":"topics.cats"`) {
			t.Errorf("unknown topic: %s", r)
		}
		r = w.api("PUT", path, map[string]any{"channels": map[string]bool{"email": true}, "topics": map[string]bool{"offers": true},
			"object_profiling": true})
		var got struct {
			Channels        map[string]bool `json:"channels"`
			Topics          map[string]bool `json:"topics"`
			DoNotSell       bool            `json:"do_not_sell"`
			ObjectProfiling bool            `json:"object_profiling"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || !got.Channels["email"] || got.Channels["sms"] ||
			!got.Topics["offers"] || got.DoNotSell || !got.ObjectProfiling {
			t.Fatalf("PUT preferences: %s", r)
		}
		// The same again changes nothing and records nothing.
		w.api("PUT", path, map[string]any{"channels": map[string]bool{"email": true}, "object_profiling": true})
		entries, err := w.ta.DB.Audit().ListAudit(context.Background(), w.tn.ID, store.AuditQuery{TargetID: w.user.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Action != "user.create" {
				actions = append(actions, e.Action)
			}
		}
		if !slices.Equal(actions, []string{"consent.granted", "preferences.changed"}) { // newest first
			t.Errorf("audit actions = %v", actions)
		}
		recs := w.records()
		if len(recs) != 1 || recs[0]["purpose"] != "gdpr.object_profiling" || recs[0]["how"] != "api" {
			t.Errorf("records = %v", recs)
		}
		if r := w.api("POST", "/users/"+w.user.ID+"/consent-records", map[string]string{"purpose": "gdpr.object_profiling",
			"state": "withdrawn", "how": "import", "ip": "not an ip"}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"field":"ip"`) {
			t.Errorf("bad ip: %s", r)
		}
		if r := w.api("POST", "/users/"+w.user.ID+"/consent-records", map[string]string{"purpose": "nope", "state": "granted"}); r.status != http.StatusBadRequest ||
			!strings.Contains(string(r.body), `"field":"purpose"`) {
			t.Errorf("unknown purpose: %s", r)
		}
		if r := w.api("GET", "/users/019aaaaa-0000-7000-8000-000000000000/preferences", nil); r.status != http.StatusNotFound {
			t.Errorf("unknown user: %s", r)
		}
		// Another tenant's key sees none of it.
		other := w.ta.tenant("other")
		if r := w.ta.do(request{method: "GET", path: "/api/v1/tenants/other/users/" + w.user.ID + "/consent-records",
			auth: "Bearer " + w.ta.key(other.ID, "admin")}); r.status != http.StatusNotFound {
			t.Errorf("another tenant reads the records: %s", r)
		}
	})
}

var (
	shownRE   = regexp.MustCompile(`name="shown" value="([^"]+)"`)
	idFieldRE = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

// uaTransport sets the User-Agent of every request.
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

// TestConsentAtSignup: the sign-up page shows the purposes as checkboxes;
// leaving a required one unticked is refused with nothing created; the
// purposes ticked are recorded (how signup, with the browser's user
// agent), the others skipped, so the first sign-in to an application
// asks nothing and its token carries what was granted.
func TestConsentAtSignup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		w := newConsentWorld(t, be)
		if r := w.ta.do(request{method: "PATCH", path: "/api/v1/tenants/acme", auth: w.admin,
			body: map[string]any{"settings": map[string]any{"self_service": map[string]any{"signup": "open"}}}}); r.status != http.StatusOK {
			t.Fatalf("open sign-up: %s", r)
		}
		w.purpose("terms", "1", true)
		w.purpose("newsletter", "1", false)
		b := w.ta.browser()
		b.c.Transport = uaTransport{"SignupBrowser/2"}
		form0 := b.get("/t/acme/signup")
		if !strings.Contains(form0.body, `name="purpose" type="checkbox" value="terms" required`) ||
			!strings.Contains(form0.body, `value="newsletter"`) {
			t.Fatalf("sign-up page lacks the purposes: %.600s", form0.body)
		}
		tok := csrfRE.FindStringSubmatch(form0.body)[1]
		const email, pw = "grace@example.com", "another fine password"
		if p := b.post("/t/acme/signup", form("csrf", tok, "email", email, "password", pw, "purpose", "newsletter")); p.status != http.StatusBadRequest ||
			!strings.Contains(p.body, "required to create your account") {
			t.Fatalf("sign-up without the required purpose: %d", p.status)
		}
		if _, err := w.ta.Directory.UserForEmail(context.Background(), w.tn.ID, email); err == nil {
			t.Fatal("a refused sign-up created the account")
		}
		if p := b.post("/t/acme/signup", form("csrf", tok, "email", email, "password", pw, "purpose", "terms")); p.status != http.StatusOK {
			t.Fatalf("sign-up: %d %.300s", p.status, p.body)
		}
		u, err := w.ta.Directory.UserForEmail(context.Background(), w.tn.ID, email)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := w.ta.Consent.Records(context.Background(), w.tn.ID, u.ID)
		if err != nil || len(recs) != 1 || recs[0].Purpose != "terms" || recs[0].How != "signup" || recs[0].UserAgent != "SignupBrowser/2" {
			t.Fatalf("records after sign-up: %+v %v", recs, err)
		}
		// The first sign-in asks nothing: terms granted, newsletter skipped.
		w.user = u
		verifier := oauth2.GenerateVerifier()
		nb := w.ta.browser()
		p := w.authorize(nb, verifier)
		login, _ := url.Parse(p.location())
		p = nb.walk(passwordStep(t, nb, "acme", login.Query().Get("id"), email, pw))
		if got, _ := w.exchange(p, verifier); !slices.Equal(got, []string{"terms"}) {
			t.Errorf("consents after sign-up = %v", got)
		}
	})
}
