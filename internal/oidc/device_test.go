package oidc

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestDevicePoll walks the token endpoint's decisions for a device code
// (RFC 8628 section 3.5) on a fixed clock, expiry included, which the
// end-to-end tests cannot wait for.
func TestDevicePoll(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fresh := func(mod ...func(*store.DeviceCode)) *store.DeviceCode {
		d := &store.DeviceCode{ClientID: "tv", State: devicePending, ExpiresAt: t0.Add(deviceLifetime + deviceGrace)}
		for _, m := range mod {
			m(d)
		}
		return d
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	polledAt := func(x time.Time) func(*store.DeviceCode) {
		return func(d *store.DeviceCode) { d.LastPoll = &x }
	}
	approved := func(d *store.DeviceCode) { d.State, d.UserID = deviceApproved, "u1" }
	for _, tc := range []struct {
		name     string
		d        *store.DeviceCode
		client   string
		now      time.Time
		want     pollResult
		wantDone bool
		wantPoll bool // LastPoll set to now
	}{
		{"first poll", fresh(), "tv", at(time.Second), pollPending, false, true},
		{"after the interval", fresh(polledAt(at(0))), "tv", at(devicePollInterval), pollPending, false, true},
		{"within jitter tolerance", fresh(polledAt(at(0))), "tv", at(devicePollInterval - devicePollTolerance), pollPending, false, true},
		{"too fast", fresh(polledAt(at(0))), "tv", at(2 * time.Second), pollSlowDown, false, true},
		{"approved", fresh(approved, polledAt(at(0))), "tv", at(time.Second), pollIssue, true, true},
		{"approved, used", fresh(approved, func(d *store.DeviceCode) { d.Done = true }), "tv", at(time.Minute), pollUsed, true, false},
		{"denied", fresh(func(d *store.DeviceCode) { d.State = deviceDenied }), "tv", at(time.Minute), pollDenied, false, false},
		{"expired pending", fresh(), "tv", at(deviceLifetime), pollExpired, false, false},
		{"expired approved", fresh(approved), "tv", at(deviceLifetime + time.Second), pollExpired, false, false},
		{"expired denied", fresh(func(d *store.DeviceCode) { d.State = deviceDenied }), "tv", at(deviceLifetime), pollExpired, false, false},
		{"other client", fresh(approved), "evil", at(time.Second), pollOtherClient, false, false},
		{"other client, used", fresh(approved, func(d *store.DeviceCode) { d.Done = true }), "evil", at(time.Second), pollOtherClient, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.d.LastPoll
			got := poll(tc.d, tc.client, tc.now)
			if got != tc.want {
				t.Errorf("poll = %d, want %d", got, tc.want)
			}
			if tc.d.Done != tc.wantDone {
				t.Errorf("Done = %v, want %v", tc.d.Done, tc.wantDone)
			}
			polled := tc.d.LastPoll != nil && tc.d.LastPoll.Equal(tc.now)
			if polled != tc.wantPoll || (!tc.wantPoll && tc.d.LastPoll != before) {
				t.Errorf("LastPoll = %v (was %v), want updated: %v", tc.d.LastPoll, before, tc.wantPoll)
			}
		})
	}
}

func TestUserCodes(t *testing.T) {
	seen := map[byte]int{}
	for range 2000 {
		c, err := newUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != userCodeLength {
			t.Fatalf("user code %q: length %d", c, len(c))
		}
		for i := range len(c) {
			if !strings.Contains(userCodeAlphabet, c[i:i+1]) {
				t.Fatalf("user code %q has %q, not in the alphabet", c, c[i])
			}
			seen[c[i]]++
		}
		if n, ok := normalizeUserCode(strings.ToLower(formatUserCode(c))); !ok || n != c {
			t.Fatalf("normalize(format(%q)) = %q, %v", c, n, ok)
		}
	}
	// 16000 letters, 800 expected each: every letter is drawn, none far off.
	for i := range len(userCodeAlphabet) {
		if n := seen[userCodeAlphabet[i]]; n < 600 || n > 1000 {
			t.Errorf("letter %c drawn %d times of 16000", userCodeAlphabet[i], n)
		}
	}
	for in, want := range map[string]string{
		"BCDF-GHJK": "BCDFGHJK", "bcdf ghjk": "BCDFGHJK", "BCDFGHJK": "BCDFGHJK",
		"BCDF-GHJ": "", "BCDF-GHJKL": "", "ABCD-EFGH": "", "BCDF-GHJ1": "", "BCDF-GHJÄ": "",
		strings.Repeat("-", 40) + "BCDFGHJK": "",
	} {
		got, ok := normalizeUserCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestPushedQuery: a parked request turns back into the parameters pushed.
func TestPushedQuery(t *testing.T) {
	age := 90 * time.Second
	q := pushedQuery(&store.AuthRequest{ClientID: "c", RedirectURI: "https://a.example/cb", ResponseType: "code",
		Scopes: []string{"openid", "email"}, State: "s", Nonce: "n", CodeChallenge: "x", CodeChallengeMethod: "S256",
		Prompt: []string{"login"}, MaxAge: &age, UILocales: []string{"de", "en"}})
	want := "client_id=c&code_challenge=x&code_challenge_method=S256&max_age=90&nonce=n&prompt=login" +
		"&redirect_uri=https%3A%2F%2Fa.example%2Fcb&response_type=code&scope=openid+email&state=s&ui_locales=de+en"
	if got := q.Encode(); got != want {
		t.Errorf("pushedQuery = %s\nwant %s", got, want)
	}
	if !validChallenge(strings.Repeat("a", 43)) || validChallenge(strings.Repeat("a", 42)) ||
		validChallenge(strings.Repeat("a", 42)+"=") || validChallenge(strings.Repeat("a", 129)) {
		t.Error("validChallenge")
	}
}
