package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoginThrottle drives the hosted login form: wrong passwords for one
// account from one address throttle it there (429 with Retry-After, even
// for the right password) and no other account; every credential failure
// answers the same page.
func TestLoginThrottle(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			t.Run("WrongPasswords", func(t *testing.T) { testThrottleWrongPasswords(t, d) })
			t.Run("SameAnswer", func(t *testing.T) { testLoginSameAnswer(t, d) })
			t.Run("ConcurrentFailuresCount", func(t *testing.T) { testThrottleConcurrent(t, d) })
		})
	}
}

// loginForm is a login page's form: where to post, and its hidden fields.
type loginForm struct {
	r      *rp
	action string
	hidden url.Values
}

// openLogin starts an authorization request in r's browser and answers
// its login form.
func openLogin(t *testing.T, r *rp) loginForm {
	t.Helper()
	res, err := r.browser.Get(r.authURL("throttle", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `autocomplete="current-password"`) {
		t.Fatalf("login page: %d %.300s", res.StatusCode, body)
	}
	f := loginForm{r: r, action: res.Request.URL.Scheme + "://" + res.Request.URL.Host + res.Request.URL.Path, hidden: url.Values{}}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(body), -1) {
		f.hidden.Set(m[1], m[2])
	}
	if f.hidden.Get("csrf") == "" || f.hidden.Get("id") == "" {
		t.Fatalf("login form without csrf or id: %.500s", body)
	}
	return f
}

// submit posts identifier and password, without following the answer.
func (f loginForm) submit(identifier, password string) (oauthResp, error) {
	form := url.Values{"identifier": {identifier}, "password": {password}}
	for k, v := range f.hidden {
		form[k] = v
	}
	req, err := http.NewRequest("POST", f.action, strings.NewReader(form.Encode()))
	if err != nil {
		return oauthResp{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := &http.Client{Jar: f.r.browser.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return oauthResp{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return oauthResp{Status: res.StatusCode, Header: res.Header, Raw: raw}, nil
}

func (f loginForm) must(t *testing.T, identifier, password string) oauthResp {
	t.Helper()
	res, err := f.submit(identifier, password)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// signedIn reports whether a login answer is the redirect of a success.
func signedIn(res oauthResp) bool {
	return res.Status == http.StatusSeeOther && strings.Contains(res.Header.Get("Location"), "/authorize/callback")
}

const wrongPasswordText = "Incorrect email, username or password."

func testThrottleWrongPasswords(t *testing.T, d *deployment) {
	d.user(t, "default", "victim@example.com", "correct horse battery")
	d.user(t, "default", "bystander@example.com", "another fine password")
	r := d.rp(t, "default")
	f := openLogin(t, r)
	for i := range 4 {
		res := f.must(t, "victim@example.com", "wrong password "+strconv.Itoa(i))
		if res.Status != http.StatusUnauthorized || !strings.Contains(string(res.Raw), wrongPasswordText) {
			t.Fatalf("wrong password %d: %d %.300s", i+1, res.Status, res.Raw)
		}
	}
	res := f.must(t, "victim@example.com", "correct horse battery")
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.Status != http.StatusTooManyRequests || err != nil || ra < 1 || ra > 3 || signedIn(res) ||
		!strings.Contains(string(res.Raw), "Too many attempts") {
		t.Fatalf("right password after 4 wrong ones: %d Retry-After %q %.300s", res.Status, res.Header.Get("Retry-After"), res.Raw)
	}
	for _, c := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gh_session_") {
			t.Errorf("a throttled attempt set a session cookie: %s", c)
		}
	}
	// The throttle is the account's: another one signs in from the same address.
	if res := f.must(t, "bystander@example.com", "another fine password"); !signedIn(res) {
		t.Errorf("another account while one is throttled: %d %q %.300s", res.Status, res.Header.Get("Location"), res.Raw)
	}
}

func testLoginSameAnswer(t *testing.T, d *deployment) {
	d.user(t, "default", "carol@example.com", "a secret no one guesses")
	r := d.rp(t, "default")
	f := openLogin(t, r)
	known := f.must(t, "carol@example.com", "not carol's password")
	unknown := f.must(t, "nobody@example.com", "not carol's password")
	if known.Status != http.StatusUnauthorized || unknown.Status != known.Status {
		t.Fatalf("statuses: wrong password %d, unknown account %d", known.Status, unknown.Status)
	}
	a := strings.ReplaceAll(string(known.Raw), "carol@example.com", "IDENTIFIER")
	b := strings.ReplaceAll(string(unknown.Raw), "nobody@example.com", "IDENTIFIER")
	if a != b || !strings.Contains(a, wrongPasswordText) {
		t.Errorf("the pages differ:\nwrong password: %s\nunknown account: %s", a, b)
	}
	if strings.Join(known.Header.Values("Set-Cookie"), ";") != strings.Join(unknown.Header.Values("Set-Cookie"), ";") {
		t.Errorf("cookies differ: %q and %q", known.Header.Values("Set-Cookie"), unknown.Header.Values("Set-Cookie"))
	}
	// Control: the right password signs in.
	if res := f.must(t, "carol@example.com", "a secret no one guesses"); !signedIn(res) {
		t.Errorf("right password: %d %.300s", res.Status, res.Raw)
	}
}

// delayFor mirrors internal/flow's per-source schedule: 3 free failures,
// then 2^(n-3) seconds, at most a minute (from 10 on, with a challenge).
func delayFor(n int) time.Duration {
	switch {
	case n <= 3:
		return 0
	case n >= 9:
		return time.Minute
	}
	return time.Duration(1<<(n-3)) * time.Second
}

// testThrottleConcurrent: failures sent at once all count (the database
// adds them up), so a burst cannot buy more guesses than a sequence.
func testThrottleConcurrent(t *testing.T, d *deployment) {
	d.user(t, "default", "dave@example.com", "a secret no one guesses")
	r := d.rp(t, "default")
	f := openLogin(t, r)
	burst := time.Now()
	res := parallel(16, func(i int) oauthResp {
		res, err := f.submit("dave@example.com", "guess "+strconv.Itoa(i))
		if err != nil {
			return oauthResp{Raw: []byte(err.Error())}
		}
		return res
	})
	counted := 0
	for _, x := range res {
		switch x.Status {
		case http.StatusUnauthorized:
			counted++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("burst answered %d %.300s", x.Status, x.Raw)
		}
	}
	if counted < 4 {
		t.Fatalf("only %d of 16 failures were checked", counted)
	}
	// A burst gets no more guesses than a sequence would: attempts are
	// counted in the database before the password is checked, and from
	// 10 on every attempt from this address needs a challenge.
	if counted > 10 {
		t.Fatalf("a burst of 16 concurrent guesses had %d passwords checked; at most 10 may be", counted)
	}
	after := f.must(t, "dave@example.com", "a secret no one guesses")
	elapsed := time.Since(burst)
	ra, _ := strconv.Atoi(after.Header.Get("Retry-After"))
	if after.Status != http.StatusTooManyRequests {
		t.Fatalf("after %d counted failures the right password answered %d", counted, after.Status)
	}
	// Retry-After is the rest of the delay of the count, rounded up; the
	// last failure is less than elapsed ago.
	if want := delayFor(counted) - elapsed; time.Duration(ra)*time.Second < want {
		t.Errorf("%d failures answered 401, but Retry-After is %ds, want more than %v: failures were lost", counted, ra, want.Round(time.Millisecond))
	}
}
