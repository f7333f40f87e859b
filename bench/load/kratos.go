package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// Ory Kratos's self-service API flows, for bench/compare_kratos.sh: the
// same work as Gatehouse's login and sign-up, as a native app does it
// against Kratos's public port (-base-url; no cookies, no CSRF token, JSON
// both ways). Each iteration creates a flow and submits it.

func init() {
	scenarios["kratos_login"] = scenario{name: "kratos_login", unit: "flow", needs: needKratosLogin,
		setup: func(t *target) (Op, func(), error) { return kratosLogin(t), func() {}, nil }}
	scenarios["kratos_registration"] = scenario{name: "kratos_registration", unit: "flow",
		setup: func(t *target) (Op, func(), error) { return kratosRegistration(t), func() {}, nil }}
	limitOf["kratos_login"] = limitOf["auth_code"]        // one argon2id hash per iteration
	limitOf["kratos_registration"] = limitOf["auth_code"] // likewise
}

func needKratosLogin(t *target) error {
	if t.user == "" || t.password == "" {
		return errors.New("kratos_login needs -user and a password (BENCH_PASSWORD)")
	}
	return nil
}

// kratosLogin is one password login through the API flow:
//
//	GET  /self-service/login/api          <- the flow (its id)
//	POST /self-service/login?flow=ID      <- 200 with a session token
//
// The body is {"method":"password","identifier":...,"password":...}, so
// each iteration costs Kratos an argon2id verification and a new session.
// A -user pattern with %d stands for four users per worker, as in
// auth_code, each in one flow at a time.
func kratosLogin(t *target) Op {
	c := &http.Client{Transport: t.transport, CheckRedirect: noRedirect}
	next := func(ctx context.Context) (string, func(), error) { return t.user, func() {}, nil }
	if strings.Contains(t.user, "%") {
		pool := make(chan string, userPool(t))
		for i := range cap(pool) {
			pool <- fmt.Sprintf(t.user, i)
		}
		next = func(ctx context.Context) (string, func(), error) {
			select {
			case u := <-pool:
				return u, func() { pool <- u }, nil
			case <-ctx.Done():
				return "", nil, ctx.Err()
			}
		}
	}
	return func(ctx context.Context) error {
		user, done, err := next(ctx)
		if err != nil {
			return err
		}
		defer done()
		id, err := kratosFlow(ctx, c, t.base, "/self-service/login/api")
		if err != nil {
			return err
		}
		b, err := kratosSubmit(ctx, c, t.base, "/self-service/login", id,
			map[string]any{"method": "password", "identifier": user, "password": t.password})
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(`"session_token":"`)) {
			return fmt.Errorf("login: answer lacks a session token: %.200s", b)
		}
		return nil
	}
}

// kratosRegistration is one sign-up through the API flow:
//
//	GET  /self-service/registration/api      <- the flow (its id)
//	POST /self-service/registration?flow=ID  <- 200 with the identity
//
// Each iteration registers a new address with the password signUp uses,
// so each one costs Kratos an argon2id hash and a new identity (and what
// its configuration hooks to registration).
func kratosRegistration(t *target) Op {
	c := &http.Client{Transport: t.transport, CheckRedirect: noRedirect}
	prefix := strings.ToLower(randomString()[:8])
	var n atomic.Int64
	return func(ctx context.Context) error {
		id, err := kratosFlow(ctx, c, t.base, "/self-service/registration/api")
		if err != nil {
			return err
		}
		email := fmt.Sprintf("bench-%s-%d@example.com", prefix, n.Add(1))
		b, err := kratosSubmit(ctx, c, t.base, "/self-service/registration", id,
			map[string]any{"method": "password", "password": "violet lantern harbour 1729",
				"traits": map[string]string{"email": email}})
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(`"identity":{`)) {
			return fmt.Errorf("registration: answer lacks the identity: %.200s", b)
		}
		return nil
	}
}

// noRedirect: an API flow answers JSON; a redirect is an error.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// kratosFlow creates an API flow at path and returns its id.
func kratosFlow(ctx context.Context, c *http.Client, base *url.URL, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath(path).String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	b, err := kratosBody(resp)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	var flow struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &flow); err != nil || flow.ID == "" {
		return "", fmt.Errorf("GET %s: no flow id in %.200s", path, b)
	}
	return flow.ID, nil
}

// kratosSubmit posts body as JSON to path?flow=id and returns the answer,
// which must be 200.
func kratosSubmit(ctx context.Context, c *http.Client, base *url.URL, path, id string, body any) ([]byte, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := base.JoinPath(path)
	u.RawQuery = url.Values{"flow": {id}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := kratosBody(resp)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return b, nil
}

// kratosBody reads an answer (64 KiB at most) that must be 200.
func kratosBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %d: %.200s", errStatus, resp.StatusCode, b)
	}
	return b, nil
}
