package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
)

// Scenarios on tokens a user already holds: refresh, introspection and
// userinfo. Their setup logs the user in once per worker
// through the whole authorization-code flow (authCode), so what is timed
// is only the request the scenario names.

func init() {
	scenarios["refresh"] = scenario{name: "refresh", unit: "req", needs: needAC, setup: setupRefresh}
	// The same refresh with other clients, from the environment (bench/ab.sh
	// makes them): one declaring ES256 ID tokens, one that asked for none on
	// refresh (id_token_on_refresh false). Each answer is checked to be so.
	scenarios["refresh_es256"] = refreshVariant("refresh_es256", "ES256", func(ts tokenSet) error {
		if alg := jwtAlg(ts.IDToken); alg != "ES256" {
			return fmt.Errorf("refresh_es256: ID token alg %q, want ES256", alg)
		}
		return nil
	})
	scenarios["refresh_no_id_token"] = refreshVariant("refresh_no_id_token", "NOID", func(ts tokenSet) error {
		if ts.IDToken != "" {
			return errors.New("refresh_no_id_token: the answer has an ID token")
		}
		return nil
	})
	scenarios["introspection"] = scenario{name: "introspection", unit: "req", needs: needAC, setup: setupIntrospection}
	scenarios["userinfo"] = scenario{name: "userinfo", unit: "req", needs: needAC, setup: setupUserinfo}
}

// tokenSet is what a token endpoint answered.
type tokenSet struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// refreshVariant is the refresh scenario with the client of
// BENCH_AC_<env>_CLIENT_ID and _SECRET, each answer passing check.
func refreshVariant(name, env string, check func(tokenSet) error) scenario {
	creds := func(t *target) (*target, error) {
		tt := *t
		tt.acID, tt.acSecret = os.Getenv("BENCH_AC_"+env+"_CLIENT_ID"), os.Getenv("BENCH_AC_"+env+"_CLIENT_SECRET")
		if tt.acID == "" || tt.acSecret == "" {
			return nil, fmt.Errorf("%s needs BENCH_AC_%s_CLIENT_ID and BENCH_AC_%s_CLIENT_SECRET (bench/ab.sh makes the client)", name, env, env)
		}
		return &tt, needAC(&tt)
	}
	return scenario{name: name, unit: "req",
		needs: func(t *target) error { _, err := creds(t); return err },
		setup: func(t *target) (Op, func(), error) {
			tt, err := creds(t)
			if err != nil {
				return nil, nil, err
			}
			rts, err := refreshTokens(tt)
			if err != nil {
				return nil, nil, err
			}
			return refreshOp(tt, rts, check), func() {}, nil
		}}
}

// jwtAlg is the alg of a compact JWS's header ("" when it has none).
func jwtAlg(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return hdr.Alg
}

// grants logs the user in n times (each a new session) with
// offline_access, and answers the tokens.
func grants(t *target, n int) ([]tokenSet, error) {
	out := make([]tokenSet, 0, n)
	ctx := context.Background()
	for i := range n {
		tt := *t
		if strings.Contains(t.user, "%") {
			tt.user = fmt.Sprintf(t.user, i%userPool(t))
		}
		var ts tokenSet
		if err := authFlow(ctx, &tt, "openid profile email offline_access", func(b []byte) error {
			return json.Unmarshal(b, &ts)
		}); err != nil {
			return nil, fmt.Errorf("log in for the tokens: %w", err)
		}
		if ts.AccessToken == "" || ts.RefreshToken == "" {
			return nil, errors.New("log in for the tokens: no access or refresh token (does the client have the refresh_token grant?)")
		}
		out = append(out, ts)
	}
	return out, nil
}

// setupRefresh keeps one refresh token per worker in a pool: an
// iteration takes one, redeems it (grant_type=refresh_token,
// client_secret_basic) and puts back the new one the server rotated to.
func setupRefresh(t *target) (Op, func(), error) {
	rts, err := refreshTokens(t)
	if err != nil {
		return nil, nil, err
	}
	return refreshOp(t, rts, nil), func() {}, nil
}

// refreshTokens logs a user in per worker and answers the refresh tokens.
func refreshTokens(t *target) ([]string, error) {
	ts, err := grants(t, t.concurrency)
	if err != nil {
		return nil, err
	}
	rts := make([]string, len(ts))
	for i, x := range ts {
		rts[i] = x.RefreshToken
	}
	return rts, nil
}

// refreshOp redeems the refresh tokens in rts, each worker one at a time;
// check, when set, must accept every answer.
func refreshOp(t *target, rts []string, check func(tokenSet) error) Op {
	pool := make(chan string, len(rts))
	for _, rt := range rts {
		pool <- rt
	}
	c := &http.Client{Transport: t.transport}
	tokenURL := t.tenantURL("/oauth/token")
	return func(ctx context.Context) error {
		var rt string
		select {
		case rt = <-pool:
		case <-ctx.Done():
			return ctx.Err()
		}
		next := rt
		defer func() { pool <- next }()
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		resp, err := postBasic(ctx, c, tokenURL, form, t.acID, t.acSecret)
		if err != nil {
			return err
		}
		b, err := body(resp)
		if err != nil {
			return err
		}
		var got tokenSet
		if err := json.Unmarshal(b, &got); err != nil || got.AccessToken == "" {
			return fmt.Errorf("refresh: answer lacks a token: %.200s", b)
		}
		if got.RefreshToken != "" {
			next = got.RefreshToken
		}
		if check != nil {
			return check(got)
		}
		return nil
	}
}

// setupIntrospection asks about the workers' access tokens in turn
// (client_secret_basic); each answer must say active.
func setupIntrospection(t *target) (Op, func(), error) {
	ts, err := grants(t, t.concurrency)
	if err != nil {
		return nil, nil, err
	}
	c := &http.Client{Transport: t.transport}
	u := t.tenantURL("/oauth/introspect")
	var i atomic.Uint64
	return func(ctx context.Context) error {
		tok := ts[i.Add(1)%uint64(len(ts))].AccessToken
		resp, err := postBasic(ctx, c, u, url.Values{"token": {tok}}, t.acID, t.acSecret)
		if err != nil {
			return err
		}
		b, err := body(resp)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(`"active":true`)) {
			return fmt.Errorf("introspection: not active: %.200s", b)
		}
		return nil
	}, func() {}, nil
}

// setupUserinfo reads userinfo with the workers' access tokens in turn.
func setupUserinfo(t *target) (Op, func(), error) {
	ts, err := grants(t, t.concurrency)
	if err != nil {
		return nil, nil, err
	}
	c := &http.Client{Transport: t.transport}
	u := t.tenantURL("/userinfo")
	var i atomic.Uint64
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+ts[i.Add(1)%uint64(len(ts))].AccessToken)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		b, err := body(resp)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(`"sub":"`)) {
			return fmt.Errorf("userinfo: no sub: %.200s", b)
		}
		return nil
	}, func() {}, nil
}

// postBasic posts form with client_secret_basic.
func postBasic(ctx context.Context, c *http.Client, u string, form url.Values, id, secret string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return c.Do(req)
}

// body reads a 200 answer's body (at most 64 KiB).
func body(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %w %d: %.200s", resp.Request.Method, resp.Request.URL.Path, errStatus, resp.StatusCode, b)
	}
	return b, nil
}
