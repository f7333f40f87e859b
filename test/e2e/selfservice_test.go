package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

// formClient is a browser-like HTTP client: cookies, and the CSRF token
// of the last page.
type formClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newFormClient(t *testing.T, base string) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (f *formClient) csrf() string {
	u, _ := url.Parse(f.base)
	for _, c := range f.c.Jar.Cookies(u) {
		if c.Name == "gh_csrf" {
			return c.Value
		}
	}
	return ""
}

// post GETs path (for the CSRF cookie), then POSTs form to it; it answers
// the status, the page and how long the POST took.
func (f *formClient) post(path string, form url.Values) (int, string, time.Duration) {
	f.t.Helper()
	res, err := f.c.Get(f.base + path)
	if err != nil {
		f.t.Fatal(err)
	}
	res.Body.Close()
	form.Set("csrf", f.csrf())
	start := time.Now()
	res, err = f.c.PostForm(f.base+path, form)
	took := time.Since(start)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), took
}

var (
	oneTimeRE = regexp.MustCompile(`name="(csrf|ticket)" value="[^"]*"`)
	emailRE  = regexp.MustCompile(`[a-z0-9.]+@example\.com`)
)

// visible is a page as a person (or a script) can compare it: the one-time
// values (CSRF token, ticket) and the address typed are blanked.
func visible(page string) string {
	return emailRE.ReplaceAllString(oneTimeRE.ReplaceAllString(page, `name="$1" value=""`), "ADDRESS")
}

func medianOf(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestNoEnumerationOverHTTP: against the real binary, sign-up with an
// address that has an account and a reset for one that has none answer
// exactly what the normal case answers, in about the same time; the
// account's owner is told of the sign-up attempt by mail.
func TestNoEnumerationOverHTTP(t *testing.T) {
	mp := mailpit.Start(t)
	env := append(testEnv(t.TempDir(), "", testMasterKey),
		"GATEHOUSE_SMTP_HOST="+mp.SMTPHost, "GATEHOUSE_SMTP_PORT="+strconv.Itoa(mp.SMTPPort),
		// Realistic hashing, so sign-up's answer would show a skipped hash.
		"GATEHOUSE_ARGON2_MEMORY_KIB=19456", "GATEHOUSE_ARGON2_ITERATIONS=2")
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"self_service": map[string]any{"signup": "open"}}})
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
		"email": "owner@example.com", "password": "a long kept passphrase", "email_verified": true})

	const rounds = 5
	var newT, oldT, knownT, unknownT []time.Duration
	var pages [4]string
	for i := range rounds {
		f := newFormClient(t, n.URL)
		st, page, took := f.post("/t/default/signup", url.Values{"email": {"new" + strconv.Itoa(i) + "@example.com"},
			"password": {"a fresh passphrase 1"}})
		newT = append(newT, took)
		if st != http.StatusOK || !strings.Contains(page, "We sent a link and a 6-digit code") {
			t.Fatalf("new sign-up: %d %s", st, page)
		}
		pages[0] = visible(page)
		st, page, took = f.post("/t/default/signup", url.Values{"email": {"owner@example.com"}, "password": {"a fresh passphrase 1"}})
		oldT = append(oldT, took)
		if st != http.StatusOK {
			t.Fatalf("existing sign-up: %d", st)
		}
		pages[1] = visible(page)
		st, page, took = f.post("/t/default/password/forgot", url.Values{"email": {"owner@example.com"}})
		knownT = append(knownT, took)
		pages[2] = visible(page)
		if st != http.StatusOK {
			t.Fatalf("reset: %d", st)
		}
		st, page, took = f.post("/t/default/password/forgot", url.Values{"email": {"nobody" + strconv.Itoa(i) + "@example.com"}})
		unknownT = append(unknownT, took)
		pages[3] = visible(page)
		if st != http.StatusOK {
			t.Fatalf("reset of an unknown address: %d", st)
		}
	}
	if pages[0] != pages[1] {
		t.Errorf("sign-up answers differ:\nnew:      %s\nexisting: %s", pages[0], pages[1])
	}
	if pages[2] != pages[3] {
		t.Errorf("reset answers differ:\nknown:   %s\nunknown: %s", pages[2], pages[3])
	}
	t.Logf("median answer times: sign-up new %v, existing %v; reset known %v, unknown %v",
		medianOf(newT), medianOf(oldT), medianOf(knownT), medianOf(unknownT))
	within := func(a, b time.Duration) bool {
		d := a - b
		return d < 60*time.Millisecond && d > -60*time.Millisecond
	}
	if !within(medianOf(newT), medianOf(oldT)) || !within(medianOf(knownT), medianOf(unknownT)) {
		t.Errorf("timing tells accounts apart: sign-up %v vs %v, reset %v vs %v",
			medianOf(newT), medianOf(oldT), medianOf(knownT), medianOf(unknownT))
	}
	// The owner learns of the attempt; the unknown addresses get nothing.
	mp.WaitFor(t, "owner@example.com", "Someone tried to sign up", 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	for _, m := range mp.Messages(t) {
		for _, to := range m.To {
			if strings.HasPrefix(to, "nobody") {
				t.Errorf("a mail went to an unknown address: %+v", m)
			}
		}
	}
}
