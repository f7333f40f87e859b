package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
)

func init() {
	scenarios["signup"] = scenario{name: "signup", unit: "flow",
		setup: func(t *target) (Op, func(), error) { return signUp(t), func() {}, nil }}
	limitOf["signup"] = limitOf["auth_code"] // one argon2id hash per iteration
}

// signUp is one self-service sign-up as a browser does it:
//
//	GET  /t/T/signup   <- the form and its CSRF cookie
//	POST /t/T/signup   <- "check your email" with the code form
//
// Each iteration signs up a new address, so each one costs the server an
// argon2id hash, the user, its verification token and a queued mail (and
// the mail worker's delivery, to files with no SMTP configured). The
// tenant must have sign-up open and a per-address limit above the run's
// count (bench/run.sh sets both). Answers wait for the sign-up floor
// (400 ms, so timing tells no account apart), so throughput depends on
// concurrency until the hashes fill the CPUs.
func signUp(t *target) Op {
	signupURL := t.tenantURL("/signup")
	prefix := randomString()[:8]
	var n atomic.Int64
	return func(ctx context.Context) error {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return err
		}
		c := &http.Client{Transport: t.transport, Jar: jar}
		resp, err := do(ctx, c, http.MethodGet, signupURL, nil)
		if err != nil {
			return err
		}
		page, err := readPage(resp)
		if err != nil {
			return fmt.Errorf("sign-up page: %w", err)
		}
		csrf := hiddenInput(page, "csrf")
		if csrf == "" {
			return errors.New("sign-up page: no csrf input (is sign-up open?)")
		}
		email := fmt.Sprintf("bench-%s-%d@example.com", strings.ToLower(prefix), n.Add(1))
		form := url.Values{"email": {email}, "password": {"violet lantern harbour 1729"}, "csrf": {csrf}, "accept": {"yes"}}
		resp, err = do(ctx, c, http.MethodPost, signupURL, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		page, err = readPage(resp)
		if err != nil {
			return fmt.Errorf("sign-up: %w", err)
		}
		if hiddenInput(page, "ticket") == "" {
			return fmt.Errorf("sign-up: no code form in the answer: %.200s", page)
		}
		return nil
	}
}
