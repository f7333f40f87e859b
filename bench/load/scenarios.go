package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// errStatus is an answer with an unexpected status.
var errStatus = errors.New("unexpected status")

// target is the server under test and the credentials the scenarios use.
type target struct {
	base   *url.URL // http://127.0.0.1:PORT, checked
	tenant string
	// client_credentials client (client_secret_basic).
	ccID, ccSecret string
	// authorization-code client (confidential, client_secret_basic) and
	// the user who logs in.
	acID, acSecret, redirectURI string
	user, password              string
	// totpUser is the pattern (one %d) of the users the auth_code_totp
	// scenario enrols a TOTP factor for and logs in as; totpUsers of them.
	totpUser  string
	totpUsers int
	transport *http.Transport
	// tokenURL, when set, is the token endpoint (a peer's, whose paths
	// differ from ours); it is checked like base.
	tokenURL string
	// concurrency is the number of workers (setups hold a token per worker).
	concurrency int
	// scimToken is an API key with the scim scope (the mixed scenario).
	scimToken string
	// span is one scenario's warm-up plus its measured run, and
	// maxRequests the generator's cap per run: what a setup that prepares
	// requests ahead (client_credentials_dpop's proofs) must cover.
	span        time.Duration
	maxRequests int
}

// tenantURL is base + /t/{tenant} + path.
func (t *target) tenantURL(path string) string {
	return strings.TrimRight(t.base.String(), "/") + "/t/" + url.PathEscape(t.tenant) + path
}

// scenario is a named way to load the server. setup returns the
// iteration and a function that undoes what setup started.
type scenario struct {
	name string
	unit string // what one iteration is: "req" or "flow"
	// local scenarios run against something the tool starts itself; the
	// server's CPU and memory are not read for them.
	local bool
	// needs names the target fields that must be set.
	needs func(t *target) error
	setup func(t *target) (Op, func(), error)
}

var scenarios = map[string]scenario{
	"baseline": {name: "baseline", unit: "req", local: true, setup: setupBaseline},
	"client_credentials": {name: "client_credentials", unit: "req", needs: needCC,
		setup: func(t *target) (Op, func(), error) { return clientCredentials(t), func() {}, nil }},
	"auth_code": {name: "auth_code", unit: "flow", needs: needAC,
		setup: func(t *target) (Op, func(), error) { return authCode(t), func() {}, nil }},
	"jwks": {name: "jwks", unit: "req",
		setup: func(t *target) (Op, func(), error) {
			return get(&http.Client{Transport: t.transport}, t.tenantURL("/keys")), func() {}, nil
		}},
	"discovery": {name: "discovery", unit: "req",
		setup: func(t *target) (Op, func(), error) {
			return get(&http.Client{Transport: t.transport}, t.tenantURL("/.well-known/openid-configuration")), func() {}, nil
		}},
}

func needCC(t *target) error {
	if t.ccID == "" || t.ccSecret == "" {
		return errors.New("client_credentials needs -cc-client-id and a secret (BENCH_CC_CLIENT_SECRET)")
	}
	return nil
}

func needAC(t *target) error {
	if t.acID == "" || t.acSecret == "" || t.user == "" || t.password == "" {
		return errors.New("auth_code needs -ac-client-id, -user and secrets (BENCH_AC_CLIENT_SECRET, BENCH_PASSWORD)")
	}
	return nil
}

// setupBaseline starts an empty handler on 127.0.0.1:0: the floor of this
// generator and Go's HTTP stack on this machine.
func setupBaseline(t *target) (Op, func(), error) {
	ln, err := net.Listen("tcp4", loopback+":0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return get(&http.Client{Transport: t.transport}, "http://"+ln.Addr().String()+"/"), stop, nil
}

// get is a GET that must answer 200.
func get(c *http.Client, u string) Op {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return drain(resp, http.StatusOK)
	}
}

// drain reads and closes the body (so the connection is reused) and
// checks the status.
func drain(resp *http.Response, want int) error {
	_, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %w %d, want %d", resp.Request.Method, resp.Request.URL.Path, errStatus, resp.StatusCode, want)
	}
	return err
}

// clientCredentials is one token request, grant_type=client_credentials,
// authenticated with client_secret_basic.
func clientCredentials(t *target) Op {
	c := &http.Client{Transport: t.transport}
	tokenURL := t.tenantURL("/oauth/token")
	if t.tokenURL != "" {
		tokenURL = t.tokenURL
	}
	body := []byte("grant_type=client_credentials")
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// RFC 6749 2.3.1: form-encode id and secret before Basic.
		req.SetBasicAuth(url.QueryEscape(t.ccID), url.QueryEscape(t.ccSecret))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return tokenResponse(resp, false)
	}
}

// tokenResponse checks a token endpoint answer: 200 with an access token
// and, when wantID, an ID token.
func tokenResponse(resp *http.Response, wantID bool) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token: %w %d: %.200s", errStatus, resp.StatusCode, b)
	}
	if !bytes.Contains(b, []byte(`"access_token":"`)) || (wantID && !bytes.Contains(b, []byte(`"id_token":"`))) {
		return fmt.Errorf("token: answer lacks a token: %.200s", b)
	}
	return nil
}
