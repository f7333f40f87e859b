package e2e

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

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
	emailRE   = regexp.MustCompile(`[a-z0-9.]+@example\.com`)
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

// formValues reads the named hidden inputs of a page.
func formValues(page string, names ...string) url.Values {
	v := url.Values{}
	for _, n := range names {
		m := regexp.MustCompile(`name="` + n + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m != nil {
			v.Set(n, html.UnescapeString(m[1]))
		}
	}
	return v
}

// TestPasswordlessLoginOIDC: email login is a path of the login flow and
// ends where a password login does: an authorization code for the client,
// whose ID token says amr "email". Once by the mailed code, once by the
// mailed link (in a fresh browser, as when the mail is opened elsewhere).
func TestPasswordlessLoginOIDC(t *testing.T) {
	mp := mailpit.Start(t)
	env := append(testEnv(t.TempDir(), "", testMasterKey),
		"GATEHOUSE_SMTP_HOST="+mp.SMTPHost, "GATEHOUSE_SMTP_PORT="+strconv.Itoa(mp.SMTPPort))
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"self_service": map[string]any{"passwordless": true}}})
	const email = "dorothy@example.com"
	mkUser(api, map[string]any{"email": email, "password": "a long unused passphrase", "email_verified": true})
	r := newRP(t, env, n.URL, "default")
	seen := []string{}

	for _, by := range []string{"code", "link"} {
		t.Run(by, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			r.browser.Jar = jar
			verifier := oauth2.GenerateVerifier()
			state := "st-" + by
			res, err := r.browser.Get(r.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-"+by)))
			if err != nil {
				t.Fatal(err)
			}
			page := readAll(t, res)
			id := formValues(page, "id").Get("id")
			if id == "" || !strings.Contains(page, "/t/default/login/email?id="+id) {
				t.Fatalf("login page without the email link: %.400s", page)
			}
			res, _ = r.browser.Get(n.URL + "/t/default/login/email?id=" + id)
			form := formValues(readAll(t, res), "csrf", "id")
			form.Set("email", email)
			res, err = r.browser.PostForm(n.URL+"/t/default/login/email", form)
			if err != nil {
				t.Fatal(err)
			}
			page = readAll(t, res)
			ticket := formValues(page, "ticket").Get("ticket")
			if res.StatusCode != http.StatusOK || ticket == "" {
				t.Fatalf("after asking for a link: %d %.300s", res.StatusCode, page)
			}
			m := mp.WaitFor(t, email, "sign-in link", 30*time.Second, seen...)
			seen = append(seen, m.ID)
			if by == "code" {
				form = formValues(page, "csrf", "id", "ticket")
				form.Set("code", mailCodeRE.FindString(m.Text))
				res, err = r.browser.PostForm(n.URL+"/t/default/login/email", form)
			} else {
				jar, _ := cookiejar.New(nil)
				r.browser.Jar = jar // the mail opened in another browser
				res, _ = r.browser.Get(mailLink(t, m, n.URL+"/t/default/login/email?token="))
				res, err = r.browser.PostForm(n.URL+"/t/default/login/email", formValues(readAll(t, res), "csrf", "token"))
			}
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), r.redirect) ||
				loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
				t.Fatalf("email login ended at %d %s (%s)", res.StatusCode, res.Request.URL, res.Header.Get("Location"))
			}
			tok, err := r.conf.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := r.verifier.Verify(context.Background(), tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				Email string   `json:"email"`
				AMR   []string `json:"amr"`
			}
			if err := idt.Claims(&claims); err != nil || claims.Email != email || !slices.Contains(claims.AMR, "email") {
				t.Fatalf("ID token claims %+v, %v", claims, err)
			}
		})
	}
}

// readAll is in languages_test.go (both branches brought one).

// TestSignUpWithoutSMTP: with no SMTP server configured (the default) the
// mail is written under {data_dir}/mail/ and its link, only, is logged.
func TestSignUpWithoutSMTP(t *testing.T) {
	dataDir := t.TempDir()
	env := testEnv(dataDir, "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"self_service": map[string]any{"signup": "open"}}})
	const password = "no mail server needed"
	f := newFormClient(t, n.URL)
	if st, page, _ := f.post("/t/default/signup", url.Values{"email": {"newcomer@example.com"}, "password": {password}}); st != http.StatusOK {
		t.Fatalf("sign-up: %d %.300s", st, page)
	}
	var files []string
	if !eventually(func() bool {
		files, _ = filepath.Glob(filepath.Join(dataDir, "mail", "*.eml"))
		return len(files) == 1
	}) {
		t.Fatalf("mail files: %v\n%s", files, n.Logs())
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// The bodies are quoted-printable (long lines wrap).
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/t/default/verify\?token=gh_ml_[A-Za-z0-9_-]{43}`).FindString(string(b))
	if link == "" || !strings.Contains(string(b), "To: newcomer@example.com") {
		t.Fatalf("mail file:\n%s", b)
	}
	logs := n.Logs()
	if !strings.Contains(logs, link) || strings.Contains(logs, password) {
		t.Fatalf("the log should carry the link and never the password:\n%s", logs)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("mail file mode %v", fi.Mode().Perm())
	}
}
