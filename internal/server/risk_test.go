package server

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/risk/risktest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// riskClock is a clock the risk tests move forward.
type riskClock struct{ at atomic.Int64 }

func (c *riskClock) now() time.Time      { return time.UnixMicro(c.at.Load()).UTC() }
func (c *riskClock) add(d time.Duration) { c.at.Add(d.Microseconds()) }

// riskApp serves an app behind a trusted proxy at 127.0.0.1 with the test
// GeoIP databases and an injected clock.
func riskApp(t *testing.T, be backend) (*testApp, *riskClock) {
	city, asn := risktest.Databases(t, t.TempDir())
	cfg := testConfig(t, be.db(t))
	cfg.TrustedProxies = "127.0.0.1/32"
	cfg.Risk.GeoIPDB, cfg.Risk.GeoIPASNDB = city, asn
	// A day behind: the mail worker runs on the real clock, so mails
	// queued at the test's times are due when it runs.
	clk := &riskClock{}
	clk.at.Store(time.Now().UTC().Add(-24 * time.Hour).UnixMicro())
	return openApp(t, cfg, Options{Now: clk.now}), clk
}

// signInFrom posts the account sign-in form as a client at ip (the
// proxy's X-Forwarded-For); extra form fields follow.
func (b *browserClient) signInFrom(ip, email, password string, extra ...string) page {
	b.t.Helper()
	tok := b.csrf("/t/default/account/login")
	f := form(append([]string{"csrf", tok, "identifier", email, "password", password}, extra...)...)
	return b.post("/t/default/account/login", f, "X-Forwarded-For", ip)
}

var emailTicketRE = regexp.MustCompile(`name="email_ticket" value="([^"]+)"`)

type riskEntry struct {
	Score    int    `json:"score"`
	Decision string `json:"decision"`
	Signals  []struct {
		Name   string  `json:"name"`
		Value  float64 `json:"value"`
		Weight float64 `json:"weight"`
	} `json:"signals"`
	ModelVersion string `json:"model_version"`
}

func (e riskEntry) names() string {
	var n []string
	for _, s := range e.Signals {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

// riskEntries answers the tenant's login.risk audit entries, newest first.
func (ta *testApp) riskEntries(tenant store.TenantID, userID string) []riskEntry {
	ta.t.Helper()
	es, err := ta.DB.Audit().ListAudit(context.Background(), tenant, store.AuditQuery{Action: "login.risk", TargetID: userID, Limit: 100})
	if err == nil {
		err = ta.Privacy.Shredder.Open(context.Background(), ta.DB, es)
	}
	if err != nil {
		ta.t.Fatal(err)
	}
	out := make([]riskEntry, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.Changes, &out[i]); err != nil {
			ta.t.Fatalf("login.risk changes %s: %v", e.Changes, err)
		}
	}
	return out
}

// TestRiskImpossibleTravelSteppedUp: a sign-in from Germany, then five
// minutes later from Australia through the same proxy, is stepped up
// (the second-factor page),
// its audit entry naming impossible_travel and new_country; a later
// sign-in from the user's known device and network is not, and a spoofed
// X-Forwarded-For from an untrusted peer changes nothing.
func TestRiskImpossibleTravelSteppedUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, clk := riskApp(t, be)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		u := ta.userWithPassword(tn.ID, "ana@example.com", pw)
		berlin, sydney := risktest.Addr(risktest.Berlin, 20), risktest.Addr(risktest.Sydney, 20)

		home := ta.browser()
		if p := home.signInFrom(berlin, "ana@example.com", pw); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/default/account") {
			t.Fatalf("first sign-in: %d %s", p.status, p.location())
		}
		clk.add(5 * time.Minute)
		travel := ta.browser()
		travel.c.Jar.SetCookies(tenantURL(t, home), deviceCookies(t, home))
		p := travel.signInFrom(sydney, "ana@example.com", pw)
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/login/mfa") {
			t.Fatalf("sign-in from Sydney: %d %s, want the second-factor page", p.status, p.location())
		}
		// The user has no second factor: the page offers an emailed code.
		mfaPage := travel.get(p.location())
		if mfaPage.status != http.StatusOK || !strings.Contains(mfaPage.body, "/account/login/mfa/email") {
			t.Fatalf("second-factor page: %d, no emailed code offered", mfaPage.status)
		}
		es := ta.riskEntries(tn.ID, u.ID)
		if len(es) != 2 {
			t.Fatalf("%d login.risk entries, want 2", len(es))
		}
		got := es[0]
		if got.Decision != "step_up" || !strings.Contains(got.names(), "impossible_travel") || !strings.Contains(got.names(), "new_country") ||
			got.ModelVersion == "" || got.Score < 50 {
			t.Fatalf("Sydney entry = %+v", got)
		}
		if es[1].Decision != "allow" {
			t.Fatalf("Berlin entry = %+v", es[1])
		}
		// Not completed: the Sydney attempt is in no history yet.
		if list, _ := ta.Risk.SignIns(context.Background(), tn.ID, u.ID, 10); len(list) != 1 || list[0].Country != "DE" {
			t.Fatalf("history after the stepped-up attempt = %+v", list)
		}
		// The emailed code completes it.
		ta.clearMails()
		tok := travel.csrf("/t/default/account/login/mfa")
		sent := travel.post("/t/default/account/login/mfa/email", form("csrf", tok), "X-Forwarded-For", sydney)
		tm := emailTicketRE.FindStringSubmatch(sent.body)
		if sent.status != http.StatusOK || tm == nil {
			t.Fatalf("send a code: %d", sent.status)
		}
		cm := mailCodeRE.FindStringSubmatch(ta.mailTo("ana@example.com").Text)
		if cm == nil {
			t.Fatal("no code in the mail")
		}
		tok = travel.csrf("/t/default/account/login/mfa")
		done := travel.post("/t/default/account/login/mfa", form("csrf", tok, "code", cm[1], "email_ticket", tm[1]), "X-Forwarded-For", sydney)
		if done.status != http.StatusSeeOther || !strings.HasPrefix(done.location(), "/t/default/account") || strings.Contains(done.location(), "mfa") {
			t.Fatalf("emailed code: %d %s", done.status, done.location())
		}
		if n := len(ta.riskEntries(tn.ID, u.ID)); n != 2 {
			t.Fatalf("%d login.risk entries after the step-up, want 2 (not assessed again)", n)
		}

		// Two days later, from the known device and network: allowed, and
		// the stepped-up attempt never became the last sign-in.
		clk.add(48 * time.Hour)
		again := ta.browser()
		again.c.Jar.SetCookies(tenantURL(t, home), deviceCookies(t, home))
		if p := again.signInFrom(risktest.Addr(risktest.Berlin, 21), "ana@example.com", pw); p.status != http.StatusSeeOther || strings.Contains(p.location(), "mfa") {
			t.Fatalf("sign-in from the known device: %d %s", p.status, p.location())
		}
		if e := ta.riskEntries(tn.ID, u.ID)[0]; e.Decision != "allow" || strings.Contains(e.names(), "new_") || strings.Contains(e.names(), "travel") {
			t.Fatalf("known device entry = %+v", e)
		}
		list, err := ta.Risk.SignIns(context.Background(), tn.ID, u.ID, 10)
		if err != nil || len(list) != 3 || list[0].Country != "DE" || list[1].Country != "AU" || list[2].City != "Berlin" {
			t.Fatalf("sign-in history = %+v, %v", list, err)
		}
	})
}

// TestRiskStuffingChallenged: a stuffing run from one network against 50
// accounts is answered with the proof-of-work challenge once 20 accounts
// failed from it (before any password is checked), while the real owners
// from their usual networks still get in.
func TestRiskStuffingChallenged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, _ := riskApp(t, be)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		owners := []string{"owner1@example.com", "owner2@example.com"}
		for _, o := range owners {
			ta.userWithPassword(tn.ID, o, pw)
		}
		bot := ta.browser()
		failed, challenged := 0, 0
		for i := range 50 {
			ip := risktest.Addr(risktest.BotnetNet, byte(i+1))
			p := bot.signInFrom(ip, fmt.Sprintf("victim%d@example.com", i), "Winter2026!")
			switch {
			case p.status == http.StatusUnauthorized:
				failed++
				if challenged > 0 {
					t.Fatalf("attempt %d checked a password after a challenge", i)
				}
			case p.status == http.StatusTooManyRequests && challengeRE.MatchString(p.body):
				challenged++
			default:
				t.Fatalf("attempt %d: %d", i, p.status)
			}
		}
		if failed != 20 || challenged != 30 {
			t.Fatalf("failed %d, challenged %d; want 20 checked, then 30 challenged", failed, challenged)
		}
		// A solved challenge lets one attempt through to the password check.
		m := challengeRE.FindStringSubmatch(bot.signInFrom(risktest.Addr(risktest.BotnetNet, 99), "victim0@example.com", "x").body)
		if m == nil {
			t.Fatal("no challenge on the stuffing network")
		}
		if p := bot.signInFrom(risktest.Addr(risktest.BotnetNet, 99), "victim0@example.com", "x",
			"challenge", m[1], "pow", flow.Solve(m[1], flow.ChallengeBits)); p.status != http.StatusUnauthorized {
			t.Fatalf("solved challenge: %d, want the password checked (401)", p.status)
		}
		for i, o := range owners {
			b := ta.browser()
			home := risktest.Addr(risktest.NewYork, byte(i+1))
			if p := b.signInFrom(home, o, pw); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/default/account") {
				t.Fatalf("owner %s from home: %d %s", o, p.status, p.location())
			}
		}
	})
}

// TestRiskSpoofedForwardedFor: an untrusted peer's X-Forwarded-For is
// ignored: the address the throttle and the audit see is the peer's.
func TestRiskSpoofedForwardedFor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		city, _ := risktest.Databases(t, t.TempDir())
		cfg := testConfig(t, be.db(t))
		cfg.Risk.GeoIPDB = city // no trusted proxies
		ta := openApp(t, cfg)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		u := ta.userWithPassword(tn.ID, "ana@example.com", pw)
		b := ta.browser()
		if p := b.signInFrom(risktest.Addr(risktest.Sydney, 1), "ana@example.com", pw); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.status)
		}
		list, err := ta.Risk.SignIns(context.Background(), tn.ID, u.ID, 10)
		if err != nil || len(list) != 1 || list[0].Country != "" || list[0].Network != "127.0.0.0/24" {
			t.Fatalf("history = %+v, %v; want the peer 127.0.0.1, not the spoofed address", list, err)
		}
		es, _ := ta.DB.Audit().ListAudit(context.Background(), tn.ID, store.AuditQuery{Action: "login.risk", Limit: 1})
		if err := ta.Privacy.Shredder.Open(context.Background(), ta.DB, es); err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].ClientIP != "127.0.0.1" {
			t.Fatalf("audit client_ip = %+v", es)
		}
	})
}

var deviceIDRE = regexp.MustCompile(`name="device_id" value="([^"]+)"`)

// TestRiskAccountPageSignIns: the account page lists the user's recent
// sign-ins with their approximate place and the known devices; a device
// forgotten there is gone, and another user's device id is refused.
func TestRiskAccountPageSignIns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, clk := riskApp(t, be)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		ana := ta.userWithPassword(tn.ID, "ana@example.com", pw)
		ta.userWithPassword(tn.ID, "bo@example.com", pw)
		b := ta.browser()
		first := b
		if p := b.signInFrom(risktest.Addr(risktest.Berlin, 5), "ana@example.com", pw); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.status)
		}
		clk.add(time.Hour)
		// The same browser again (its device cookie), from Munich.
		b = ta.browser()
		b.c.Jar.SetCookies(tenantURL(t, first), deviceCookies(t, first))
		if p := b.signInFrom(risktest.Addr(risktest.Munich, 5), "ana@example.com", pw); p.status != http.StatusSeeOther {
			t.Fatalf("second sign-in: %d", p.status)
		}
		// Known device, but a new network and provider: allowed, and the
		// score reached notify, so the user is told.
		if e := ta.riskEntries(tn.ID, ana.ID)[0]; e.Decision != "allow" || !strings.Contains(e.names(), "new_network") || e.Score < 45 {
			t.Fatalf("Munich entry = %+v", e)
		}
		told := 0
		for _, m := range ta.mails() {
			if strings.Contains(m.Subject, "Unusual sign-in") && strings.Contains(m.To, "ana@example.com") {
				told++
			}
		}
		if told != 1 {
			t.Fatalf("%d unusual sign-in mails, want 1", told)
		}
		page := b.get("/t/default/account")
		if page.status != http.StatusOK || !strings.Contains(page.body, "Berlin, DE") || !strings.Contains(page.body, "Munich, DE") ||
			strings.Index(page.body, "Munich, DE") > strings.Index(page.body, "Berlin, DE") {
			t.Fatalf("account page: %d, sign-ins not listed newest first", page.status)
		}
		ids := deviceIDRE.FindAllStringSubmatch(page.body, -1)
		if len(ids) != 1 {
			t.Fatalf("%d known devices listed, want 1", len(ids))
		}
		// Another user's browser cannot forget ana's device.
		other := ta.browser()
		if p := other.signInFrom(risktest.Addr(risktest.Berlin, 6), "bo@example.com", pw); p.status != http.StatusSeeOther {
			t.Fatalf("bo's sign-in: %d", p.status)
		}
		tok := other.csrf("/t/default/account")
		if p := other.post("/t/default/account/devices/forget", form("csrf", tok, "device_id", ids[0][1])); p.status != http.StatusNotFound {
			t.Fatalf("forgetting another user's device: %d, want 404", p.status)
		}
		tok = b.csrf("/t/default/account")
		if p := b.post("/t/default/account/devices/forget", form("csrf", tok, "device_id", ids[0][1])); p.status != http.StatusSeeOther {
			t.Fatalf("forget: %d", p.status)
		}
		if ds, _ := ta.Flow.KnownDevices(context.Background(), tn.ID, ana.ID); len(ds) != 0 {
			t.Fatalf("%d devices after forgetting", len(ds))
		}
		if p := b.get("/t/default/account"); deviceIDRE.MatchString(p.body) {
			t.Fatal("the forgotten device is still listed")
		}
	})
}

// TestRiskClaim: a client that asks for the risk scope finds the
// assessment of the sign-in that made the session in the ID token (a real
// OAuth client, the device grant approved in the signed-in browser); one
// that does not ask finds no such claim, and acr/amr are there either way.
func TestRiskClaim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta, _ := riskApp(t, be)
		tn := ta.tenant("acme")
		const pw = "correct horse battery staple"
		ta.userWithPassword(tn.ID, "ana@example.com", pw)
		tv, conf := deviceTV(t, ta, tn)
		b := ta.browser()
		tok := b.csrf("/t/acme/account/login")
		if p := b.post("/t/acme/account/login", form("csrf", tok, "identifier", "ana@example.com", "password", pw),
			"X-Forwarded-For", risktest.Addr(risktest.Berlin, 30)); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.status)
		}
		claimsOf := func(scopes ...string) map[string]json.RawMessage {
			t.Helper()
			c := *conf
			c.Scopes = scopes
			idt, _ := deviceToken(t, b, &c).Extra("id_token").(string)
			parts := strings.Split(idt, ".")
			if len(parts) != 3 {
				t.Fatalf("id_token %q", idt)
			}
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			var claims map[string]json.RawMessage
			if err != nil || json.Unmarshal(raw, &claims) != nil {
				t.Fatalf("id_token claims: %v", err)
			}
			return claims
		}
		with := claimsOf("openid", "offline_access", "risk")
		var rc struct {
			Score        *int     `json:"score"`
			Decision     string   `json:"decision"`
			Signals      []string `json:"signals"`
			ModelVersion string   `json:"model_version"`
		}
		if err := json.Unmarshal(with["risk"], &rc); err != nil || rc.Score == nil || rc.Decision != "allow" || rc.ModelVersion != "rules-1" || rc.Signals == nil {
			t.Fatalf("risk claim = %s (%v)", with["risk"], err)
		}
		if with["acr"] == nil || with["amr"] == nil {
			t.Fatalf("acr/amr missing: %v", with)
		}
		without := claimsOf("openid", "offline_access")
		if _, ok := without["risk"]; ok || without["amr"] == nil {
			t.Fatalf("claims without the risk scope: %v", without)
		}
		_ = tv
	})
}

// TestRiskBreachedPasswords: with a corpus of range files, a sign-in with
// a breached password goes through but is flagged in its login.risk entry
// and the user is mailed to change it (once a day); changing to another
// breached password is refused with a reason.
func TestRiskBreachedPasswords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		city, asn := risktest.Databases(t, t.TempDir())
		corpus := t.TempDir()
		cfg := testConfig(t, be.db(t))
		cfg.TrustedProxies = "127.0.0.1/32"
		cfg.Risk.GeoIPDB, cfg.Risk.GeoIPASNDB, cfg.Risk.BreachedPasswords = city, asn, corpus
		ta := openApp(t, cfg)
		tn := ta.tenant("default")
		const pw, other = "correct horse battery staple", "Tr0ub4dor&3 is breached"
		u := ta.userWithPassword(tn.ID, "ana@example.com", pw) // not in the corpus yet
		for _, p := range []string{pw, other} {
			h := sha1.Sum([]byte(p))
			hexed := strings.ToUpper(hex.EncodeToString(h[:]))
			if err := os.WriteFile(filepath.Join(corpus, hexed[:5]), []byte("0000000000000000000000000000000000A:1\r\n"+hexed[5:]+":12\r\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ta.clearMails()
		var b *browserClient
		for i := range 2 {
			prev := b
			b = ta.browser()
			if prev != nil { // the same browser, signing in again
				b.c.Jar.SetCookies(tenantURL(t, prev), deviceCookies(t, prev))
			}
			if p := b.signInFrom(risktest.Addr(risktest.Berlin, 40), "ana@example.com", pw); p.status != http.StatusSeeOther || strings.Contains(p.location(), "mfa") {
				t.Fatalf("sign-in %d with a breached password: %d %s", i, p.status, p.location())
			}
		}
		if e := ta.riskEntries(tn.ID, u.ID)[0]; !strings.Contains(e.names(), "breached_password") {
			t.Fatalf("login.risk = %+v, want breached_password", e)
		}
		asked := 0 // one mail for two sign-ins
		for _, m := range ta.mails() {
			if strings.Contains(m.Subject, "change your") && strings.Contains(m.To, "ana@example.com") {
				asked++
			}
		}
		if asked != 1 {
			t.Fatalf("%d mails asking for a new password, want 1", asked)
		}
		tok := b.csrf("/t/default/account")
		p := b.post("/t/default/account/password", form("csrf", tok, "current_password", pw, "new_password", other))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "data breach") {
			t.Fatalf("changing to a breached password: %d", p.status)
		}
	})
}
