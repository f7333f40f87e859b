package server

import (
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

// browserFrom is a browser whose connections leave from the loopback
// address local (all of 127.0.0.0/8 is loopback), so the server sees
// that client address without any proxy header.
func (ta *testApp) browserFrom(local string) *browserClient {
	b := ta.browser()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	b.c.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

var challengeRE = regexp.MustCompile(`data-challenge="([^"]+)" data-bits="(\d+)"`)

// attemptsAllowed is how many password checks the per-source schedule
// (3 free, then 2, 4, 8, 16, 32 s, then one a minute) allows in span.
func attemptsAllowed(span time.Duration) int {
	n, at := 4, time.Duration(0)
	for _, d := range []time.Duration{2, 4, 8, 16, 32} {
		if at += d * time.Second; at > span {
			return n
		}
		n++
	}
	return n + int((span-at)/time.Minute)
}

// TestLockoutAttackerCannotLockOwnerOut: an attacker at 127.0.0.2 sends
// 1,000 wrong passwords for the victim through the sign-in page, solving
// every challenge it is shown. Throughout, the victim signs in with the
// right password from 127.0.0.3 and from a remembered browser at the
// attacker's own address, while the attacker has few passwords checked.
func TestLockoutAttackerCannotLockOwnerOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		ta.userWithPassword(tn.ID, "victim@example.com", pw)

		device := ta.browserFrom("127.0.0.2")
		device.signIn("default", "victim@example.com", pw)
		if !strings.Contains(strings.Join(cookieNames(device), " "), "gh_device_default") {
			t.Fatalf("no device cookie after a sign-in: %v", cookieNames(device))
		}

		attacker := ta.browserFrom("127.0.0.2")
		tok := attacker.csrf("/t/default/account/login")
		checked, waited, solved := 0, 0, 0
		start := time.Now()
		deadline := start.Add(90 * time.Second)
		for i := range 1000 {
			if time.Now().After(deadline) {
				t.Fatalf("attack loop out of time after %d attempts", i)
			}
			f := form("csrf", tok, "identifier", "victim@example.com", "password", "wrong password!")
			p := attacker.post("/t/default/account/login", f)
			if m := challengeRE.FindStringSubmatch(p.body); p.status == http.StatusTooManyRequests && m != nil {
				solved++
				f.Set("challenge", m[1])
				f.Set("pow", flow.Solve(m[1], flow.ChallengeBits))
				p = attacker.post("/t/default/account/login", f)
			}
			switch p.status {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
				waited++
			default:
				t.Fatalf("attempt %d: %d", i, p.status)
			}
			if i%100 == 0 {
				ta.browserFrom("127.0.0.3").signIn("default", "victim@example.com", pw) // fatal on failure
				// A new browser session on the remembered device: its
				// device cookie only, at the attacker's address.
				again := ta.browserFrom("127.0.0.2")
				again.c.Jar.SetCookies(tenantURL(t, device), deviceCookies(t, device))
				again.signIn("default", "victim@example.com", pw)
			}
			time.Sleep(10 * time.Millisecond) // about ten seconds in all
		}
		span := time.Since(start)
		t.Logf("attacker: %d of 1000 wrong passwords checked in %v (%.1f/min); %d answered 429; %d challenges solved",
			checked, span.Round(time.Millisecond), float64(checked)/span.Minutes(), waited, solved)
		if max := attemptsAllowed(span) + 1; checked > max {
			t.Errorf("attacker had %d passwords checked in %v; the schedule allows %d", checked, span, max)
		}
		if checked < 4 {
			t.Errorf("attacker had only %d passwords checked; the first four are free", checked)
		}
	})
}

func tenantURL(t *testing.T, b *browserClient) *url.URL {
	u, err := url.Parse(b.base + "/t/default/")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieNames(b *browserClient) []string {
	var names []string
	for _, c := range b.c.Jar.Cookies(tenantURL(b.t, b)) {
		names = append(names, c.Name)
	}
	return names
}

// deviceCookies answers b's device cookie, for another jar.
func deviceCookies(t *testing.T, b *browserClient) []*http.Cookie {
	for _, c := range b.c.Jar.Cookies(tenantURL(t, b)) {
		if strings.HasPrefix(c.Name, "gh_device_") {
			return []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/t/default/"}}
		}
	}
	t.Fatal("no device cookie")
	return nil
}

// TestLoginChallengePage: past ten failures from one address the sign-in
// page answers with a challenge, not a lock: the form carries it, its
// solver runs under the page's CSP nonce, and a solved challenge with the
// right password signs in.
func TestLoginChallengePage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("default")
		const pw = "correct horse battery staple"
		u := ta.userWithPassword(tn.ID, "victim@example.com", pw)
		// Ten failures from 127.0.0.4 some minutes ago: the waits are over,
		// the count stays (it lapses 15 minutes after the last failure).
		th := ta.DB.OAuth().Throttle()
		for range 10 {
			if _, err := th.Fail(t.Context(), tn.ID, "acct-user:"+u.ID+"@127.0.0.4", time.Now().Add(-2*time.Minute), 15*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		b := ta.browserFrom("127.0.0.4")
		tok := b.csrf("/t/default/account/login")
		f := form("csrf", tok, "identifier", "victim@example.com", "password", pw)
		p := b.post("/t/default/account/login", f)
		m := challengeRE.FindStringSubmatch(p.body)
		if p.status != http.StatusTooManyRequests || m == nil {
			t.Fatalf("right password after ten failures from here: %d, challenge %v", p.status, m != nil)
		}
		nonce := regexp.MustCompile(`<script src="/assets/challenge.js" nonce="([^"]+)"`).FindStringSubmatch(p.body)
		if nonce == nil || !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'nonce-"+nonce[1]+"'") {
			t.Fatalf("challenge script without a matching CSP nonce: CSP %q", p.header.Get("Content-Security-Policy"))
		}
		if js := b.get("/assets/challenge.js"); js.status != http.StatusOK || !strings.Contains(js.body, "crypto.subtle.digest") {
			t.Fatalf("challenge.js: %d", js.status)
		}
		// A wrong answer is a new challenge; the right one signs in.
		f.Set("challenge", m[1])
		f.Set("pow", "1")
		if !flow.Solves(m[1], "1", flow.ChallengeBits) {
			if p := b.post("/t/default/account/login", f); p.status != http.StatusTooManyRequests || !challengeRE.MatchString(p.body) {
				t.Fatalf("wrong answer: %d", p.status)
			}
		}
		f.Set("pow", flow.Solve(m[1], flow.ChallengeBits))
		if p := b.post("/t/default/account/login", f); p.status != http.StatusSeeOther {
			t.Fatalf("solved challenge with the right password: %d", p.status)
		}
	})
}

// TestAuthorizePendingPerSource: one address may hold 200 unfinished
// authorization requests per tenant; the next /authorize answers 429 with
// Retry-After and stores nothing, while other addresses go on. A request
// nobody opened lives 10 minutes; showing its login page extends it.
func TestAuthorizePendingPerSource(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("default")
		c := ta.client(tn.ID, "App")
		q := url.Values{"client_id": {c.ID}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}}
		path := "/t/default/authorize?" + q.Encode()
		flood := ta.browserFrom("127.0.0.5")
		var first string
		for i := range 200 {
			p := flood.get(path)
			if p.status != http.StatusFound {
				t.Fatalf("authorize %d: %d", i+1, p.status)
			}
			if i == 0 {
				first = p.location()
			}
		}
		p := flood.get(path)
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "600" {
			t.Fatalf("authorize 201 from one address: %d, Retry-After %q", p.status, p.header.Get("Retry-After"))
		}
		n, err := ta.DB.OAuth().AuthRequests().CountPendingAuthRequests(t.Context(), tn.ID, "127.0.0.5", time.Now())
		if err != nil || n != 200 {
			t.Fatalf("pending from 127.0.0.5 = %d, %v; want 200 (nothing stored past the limit)", n, err)
		}
		if p := ta.browserFrom("127.0.0.6").get(path); p.status != http.StatusFound {
			t.Fatalf("authorize from another address: %d", p.status)
		}
		// The first request lives 10 minutes until its page is shown.
		u, err := url.Parse(first)
		if err != nil {
			t.Fatal(err)
		}
		id := u.Query().Get("id")
		ar, err := ta.DB.OAuth().AuthRequests().GetAuthRequest(t.Context(), tn.ID, id)
		if err != nil || ar.ExpiresAt.Sub(ar.CreatedAt) != 10*time.Minute {
			t.Fatalf("unopened request lives %v, %v; want 10m", ar.ExpiresAt.Sub(ar.CreatedAt), err)
		}
		if p := flood.get(u.Path + "?" + u.RawQuery); p.status != http.StatusOK {
			t.Fatalf("login page: %d", p.status)
		}
		ar, err = ta.DB.OAuth().AuthRequests().GetAuthRequest(t.Context(), tn.ID, id)
		if err != nil || ar.ExpiresAt.Sub(ar.CreatedAt) != 30*time.Minute {
			t.Fatalf("opened request lives %v, %v; want 30m", ar.ExpiresAt.Sub(ar.CreatedAt), err)
		}
	})
}
