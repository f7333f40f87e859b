package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// authCode is one whole authorization-code + PKCE flow with a password
// login, as a browser and a relying party do it:
//
//	GET  /t/T/authorize?...           -> 302 to the login page (followed)
//	GET  /t/T/login?id=...            <- form with hidden csrf and id
//	POST /t/T/login                   -> 303 to /t/T/authorize/callback (followed)
//	GET  /t/T/authorize/callback?id=  -> 302 to the redirect URI (not followed)
//	POST /t/T/oauth/token             <- access and ID token
//
// Each iteration has its own cookie jar, so each one logs in for real:
// one argon2id hash, a new session, a code, and the tokens.
//
// When the user is a pattern with one %d verb, each flow logs in as one of
// users(t) numbered 0, 1, ..., none twice at once: Gatehouse counts a
// login attempt against the account before the password check (so a
// burst of guesses cannot outrun the throttle), which also throttles one
// account logging in from many clients at once.
func authCode(t *target) Op {
	if !strings.Contains(t.user, "%") {
		return func(ctx context.Context) error { return authFlow(ctx, t, "openid profile email", nil) }
	}
	pool := make(chan string, userPool(t))
	for i := range cap(pool) {
		pool <- fmt.Sprintf(t.user, i)
	}
	return func(ctx context.Context) error {
		var user string
		select {
		case user = <-pool:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { pool <- user }()
		tt := *t
		tt.user = user
		return authFlow(ctx, &tt, "openid profile email", nil)
	}
}

// userPool is how many users a %d pattern stands for: four per worker.
func userPool(t *target) int { return 4 * max(1, t.concurrency) }

// authFlow is one authorization-code flow asking for scope; onToken, when
// set, gets the token endpoint's answer.
func authFlow(ctx context.Context, t *target, scope string, onToken func([]byte) error) error {
	return authFlowMFA(ctx, t, scope, onToken, nil)
}

// secondFactor answers the page the password login led to (the second
// factor's form) and returns the response that ends at the client.
type secondFactor func(ctx context.Context, c *http.Client, resp *http.Response) (*http.Response, error)

// authFlowMFA is authFlow with a second factor after the password, when
// mfa is set.
func authFlowMFA(ctx context.Context, t *target, scope string, onToken func([]byte) error, mfa secondFactor) error {
	authorizeURL := t.tenantURL("/authorize")
	tokenURL := t.tenantURL("/oauth/token")
	{
		jar, err := cookiejar.New(nil)
		if err != nil {
			return err
		}
		c := &http.Client{Transport: t.transport, Jar: jar, CheckRedirect: stopAt(t.redirectURI)}

		verifier, state, nonce := randomString(), randomString(), randomString()
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{
			"response_type":         {"code"},
			"client_id":             {t.acID},
			"redirect_uri":          {t.redirectURI},
			"scope":                 {scope},
			"state":                 {state},
			"nonce":                 {nonce},
			"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
			"code_challenge_method": {"S256"},
		}
		// 1. Authorize, landing on the login page.
		resp, err := do(ctx, c, http.MethodGet, authorizeURL+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		page, err := readPage(resp)
		if err != nil {
			return fmt.Errorf("login page: %w", err)
		}
		if !strings.HasSuffix(resp.Request.URL.Path, "/login") {
			return fmt.Errorf("authorize ended at %s, not the login page", resp.Request.URL.Path)
		}
		csrf, id, action := hiddenInput(page, "csrf"), hiddenInput(page, "id"), formAction(page)
		if csrf == "" || id == "" || action == "" {
			return errors.New("login page: no form action, csrf or id input")
		}
		postURL, err := resp.Request.URL.Parse(action)
		if err != nil {
			return fmt.Errorf("login page: form action: %w", err)
		}
		// 2. Log in; the redirects lead through the callback to the client.
		form := url.Values{"identifier": {t.user}, "password": {t.password}, "csrf": {csrf}, "id": {id}}
		resp, err = do(ctx, c, http.MethodPost, postURL.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		if mfa != nil {
			if resp, err = mfa(ctx, c, resp); err != nil {
				return err
			}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		code, err := codeFrom(resp, t.redirectURI, state)
		if err != nil {
			return err
		}
		// 3. Exchange the code, as the relying party.
		tok := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {t.redirectURI}, "code_verifier": {verifier}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(tok.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(t.acID), url.QueryEscape(t.acSecret))
		resp, err = c.Do(req)
		if err != nil {
			return err
		}
		if onToken == nil {
			return tokenResponse(resp, true)
		}
		b, err := body(resp)
		if err != nil {
			return err
		}
		return onToken(b)
	}
}

// stopAt follows redirects within the server but stops at the client's
// redirect URI, whose answer is then the response.
func stopAt(redirectURI string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if req.URL.Hostname() != loopback {
			return fmt.Errorf("redirect to %s: %w", req.URL.Host, errNotLoopback)
		}
		return nil
	}
}

func do(ctx context.Context, c *http.Client, method, u string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.Do(req)
}

// readPage reads a 200 HTML page.
func readPage(resp *http.Response) (string, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %w %d", resp.Request.URL.Path, errStatus, resp.StatusCode)
	}
	return string(b), nil
}

// hiddenInputRE matches the hosted login page's hidden inputs
// (internal/web/templates/login.html), as html/template writes them.
var hiddenInputRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

var formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// formAction is where the page's form posts to, "" if it has none.
func formAction(page string) string {
	m := formActionRE.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// hiddenInput is the value of the hidden input called name, "" if none.
func hiddenInput(page, name string) string {
	for _, m := range hiddenInputRE.FindAllStringSubmatch(page, -1) {
		if html.UnescapeString(m[1]) == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// codeFrom takes the code from the redirect to the client, checking the
// state came back.
func codeFrom(resp *http.Response, redirectURI, state string) (string, error) {
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login: ended at %s with %w %d, want a 302 to the client", resp.Request.URL.Path, errStatus, resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		return "", fmt.Errorf("login: redirected to %q, not the client", resp.Header.Get("Location"))
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("login: client got error %q: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", errors.New("login: state did not come back")
	}
	if q.Get("code") == "" {
		return "", errors.New("login: no code")
	}
	return q.Get("code"), nil
}

// randomString is 256 random bits, base64url: a PKCE verifier, a state, a
// nonce.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
