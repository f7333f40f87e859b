package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"
)

func init() {
	scenarios["auth_code_totp"] = scenario{name: "auth_code_totp", unit: "flow", needs: needTOTP, setup: setupTOTP}
	limitOf["auth_code_totp"] = limitOf["auth_code"] // one argon2id hash per iteration
}

const (
	totpStep        = 30 // seconds: RFC 6238's default period, the server's
	maxTOTPUsers    = 10_000
	totpSetupTimout = 10 * time.Minute
)

func needTOTP(t *target) error {
	if t.acID == "" || t.acSecret == "" || t.password == "" {
		return errors.New("auth_code_totp needs -ac-client-id and secrets (BENCH_AC_CLIENT_SECRET, BENCH_PASSWORD)")
	}
	if strings.Count(t.totpUser, "%") != 1 || !strings.Contains(t.totpUser, "%d") {
		return errors.New("auth_code_totp needs -totp-user, a pattern with one %d (env BENCH_TOTP_USER)")
	}
	return nil
}

// totpUsersFor is how many TOTP users the scenario enrols: -totp-users, or
// 96 per worker. One user logs in at most once per 30-s step (the server
// refuses a code whose step was used), so a run within one step has at most
// users flows without waiting; at concurrency 16, 1,536 (70 flows/s for
// 21 s).
func totpUsersFor(t *target) int {
	n := t.totpUsers
	if n <= 0 {
		n = 96 * max(1, t.concurrency)
	}
	return min(max(n, t.concurrency), maxTOTPUsers)
}

// totpUser is one user with an enrolled authenticator.
type totpUser struct {
	name, secret string
	last         int64 // the last step whose code this user sent
}

// setupTOTP enrols a TOTP factor for every user through the account pages
// (the real enrolment path: sign in, add an authenticator with the current
// password, confirm it with a code), then returns the iteration:
//
//	authorize -> login page -> password -> /login/mfa page -> code ->
//	callback -> redirect to the client -> code exchange
//
// Users are taken least recently used first; one whose last code is of the
// current step waits for the next step (counted, and printed when the
// scenario ends), so no iteration fails on replay protection.
func setupTOTP(t *target) (Op, func(), error) {
	users, err := enrolledUsers(t)
	if err != nil {
		return nil, nil, err
	}
	pool := make(chan *totpUser, len(users))
	for _, u := range users {
		pool <- u
	}
	var waits atomic.Int64
	op := func(ctx context.Context) error {
		var u *totpUser
		select {
		case u = <-pool:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { pool <- u }()
		tt := *t
		tt.user = u.name
		return authFlowMFA(ctx, &tt, "openid profile email", nil, func(ctx context.Context, c *http.Client, resp *http.Response) (*http.Response, error) {
			var step int64
			resp, err := postCode(ctx, c, resp, func() (string, error) {
				code, s, err := nextCode(ctx, u, &waits)
				step = s
				return code, err
			})
			if err == nil {
				u.last = step
			}
			return resp, err
		})
	}
	stop := func() {
		if n := waits.Load(); n > 0 {
			fmt.Fprintf(notes, "load: auth_code_totp: %d iterations waited for the next 30-s step (raise -totp-users)\n", n)
		}
	}
	return op, stop, nil
}

// enrolled keeps the users enrolled in this process, by pattern and
// count, so the scenario can run more than once in a -scenario list (a
// second enrolment would stop at the factor the first one added).
var enrolled struct {
	sync.Mutex
	m map[string][]*totpUser
}

func enrolledUsers(t *target) ([]*totpUser, error) {
	n := totpUsersFor(t)
	key := fmt.Sprintf("%s|%s|%s|%d", t.base, t.tenant, t.totpUser, n)
	enrolled.Lock()
	defer enrolled.Unlock()
	if us, ok := enrolled.m[key]; ok {
		return us, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), totpSetupTimout)
	defer cancel()
	us, err := enrolTOTPUsers(ctx, t, n)
	if err != nil {
		return nil, err
	}
	// Every user sent a code of its enrolment's step: wait for the step
	// after the last one, so no measured flow starts by waiting.
	var last int64
	for _, u := range us {
		last = max(last, u.last)
	}
	if d := time.Until(time.Unix((last+1)*totpStep, 0)); d > 0 {
		fmt.Fprintf(notes, "load: auth_code_totp: enrolled; waiting %v for the next 30-s step\n", d.Round(time.Millisecond))
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("enrolment: %w", ctx.Err())
		}
	}
	if enrolled.m == nil {
		enrolled.m = map[string][]*totpUser{}
	}
	enrolled.m[key] = us
	return us, nil
}

// nextCode is u's code for the current step, after waiting for the next
// step if u already sent this one's.
func nextCode(ctx context.Context, u *totpUser, waits *atomic.Int64) (string, int64, error) {
	now := time.Now()
	step := now.Unix() / totpStep
	if step <= u.last {
		waits.Add(1)
		next := time.Unix((u.last+1)*totpStep, 0)
		timer := time.NewTimer(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return "", 0, ctx.Err()
		}
		now = time.Now()
		step = now.Unix() / totpStep
	}
	code, err := totp.GenerateCode(u.secret, now)
	return code, step, err
}

// postCode answers the second factor's form (internal/web/templates/mfa.html)
// that resp, the end of the password login, must be, with code().
func postCode(ctx context.Context, c *http.Client, resp *http.Response, code func() (string, error)) (*http.Response, error) {
	page, err := readPage(resp)
	if err != nil {
		return nil, fmt.Errorf("mfa page: %w", err)
	}
	if !strings.HasSuffix(resp.Request.URL.Path, "/login/mfa") {
		return nil, fmt.Errorf("password login ended at %s, not the second factor's page", resp.Request.URL.Path)
	}
	csrf, id, action := hiddenInput(page, "csrf"), hiddenInput(page, "id"), formAction(page)
	if csrf == "" || id == "" || action == "" {
		return nil, errors.New("mfa page: no form action, csrf or id input")
	}
	postURL, err := resp.Request.URL.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("mfa page: form action: %w", err)
	}
	otp, err := code()
	if err != nil {
		return nil, err
	}
	form := url.Values{"csrf": {csrf}, "id": {id}, "code": {otp}}
	return do(ctx, c, http.MethodPost, postURL.String(), strings.NewReader(form.Encode()))
}

// enrolTOTPUsers enrols one authenticator for each of n users, t.concurrency
// at a time.
func enrolTOTPUsers(ctx context.Context, t *target, n int) ([]*totpUser, error) {
	fmt.Fprintf(notes, "load: auth_code_totp: enrolling a TOTP factor for %d users ...\n", n)
	users := make([]*totpUser, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range max(1, t.concurrency) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				u, err := enrolTOTP(ctx, t, fmt.Sprintf(t.totpUser, i))
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("enrol %s: %w", fmt.Sprintf(t.totpUser, i), err)
					}
					mu.Unlock()
					return
				}
				users[i] = u
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	return users, nil
}

var (
	totpSecretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	factorIDRE   = regexp.MustCompile(`name="factor_id" value="([^"]+)"`)
)

// enrolTOTP signs user in on the account pages and adds an authenticator:
//
//	GET  /t/T/account/login              <- form with csrf
//	POST /t/T/account/login              -> 303 to /t/T/account (followed)
//	GET  /t/T/account/mfa                <- csrf
//	POST /t/T/account/mfa/totp           <- the secret and the factor id
//	POST /t/T/account/mfa/totp/confirm   <- a code confirms it
func enrolTOTP(ctx context.Context, t *target, user string) (*totpUser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: t.transport, Jar: jar, CheckRedirect: stopAt(t.redirectURI)}
	page := func(method, path string, form url.Values) (string, *http.Response, error) {
		var resp *http.Response
		var err error
		if form == nil {
			resp, err = do(ctx, c, method, t.tenantURL(path), nil)
		} else {
			resp, err = do(ctx, c, method, t.tenantURL(path), strings.NewReader(form.Encode()))
		}
		if err != nil {
			return "", nil, err
		}
		p, err := readPage(resp)
		return p, resp, err
	}
	p, _, err := page(http.MethodGet, "/account/login", nil)
	if err != nil {
		return nil, err
	}
	csrf := hiddenInput(p, "csrf")
	if csrf == "" {
		return nil, errors.New("account login page: no csrf input")
	}
	if _, resp, err := page(http.MethodPost, "/account/login",
		url.Values{"csrf": {csrf}, "identifier": {user}, "password": {t.password}}); err != nil {
		return nil, fmt.Errorf("account sign-in: %w", err)
	} else if !strings.HasSuffix(resp.Request.URL.Path, "/account") {
		// A user with a factor already lands on its second step.
		return nil, fmt.Errorf("account sign-in ended at %s (a factor already enrolled? use fresh users)", resp.Request.URL.Path)
	}
	if p, _, err = page(http.MethodGet, "/account/mfa", nil); err != nil {
		return nil, err
	}
	if csrf = hiddenInput(p, "csrf"); csrf == "" {
		return nil, errors.New("account mfa page: no csrf input")
	}
	if p, _, err = page(http.MethodPost, "/account/mfa/totp",
		url.Values{"csrf": {csrf}, "name": {"bench"}, "current_password": {t.password}}); err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	sec, fid := totpSecretRE.FindStringSubmatch(p), factorIDRE.FindStringSubmatch(p)
	if sec == nil || fid == nil {
		return nil, errors.New("enrol: no secret or factor id on the page")
	}
	now := time.Now()
	code, err := totp.GenerateCode(sec[1], now)
	if err != nil {
		return nil, err
	}
	if p, _, err = page(http.MethodPost, "/account/mfa/totp/confirm",
		url.Values{"csrf": {csrf}, "factor_id": {fid[1]}, "code": {code}}); err != nil {
		return nil, fmt.Errorf("confirm: %w", err)
	}
	if strings.Contains(p, `id="form-error"`) {
		return nil, errors.New("confirm: the page shows an error")
	}
	return &totpUser{name: user, secret: sec[1], last: now.Unix() / totpStep}, nil
}

// notes is where setup notes go (stderr, with the table).
var notes io.Writer = os.Stderr
