package server

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// hookReceiver is a hook endpoint in the test: it checks every request's
// Standard Webhooks signature with its own implementation of the
// algorithm (not internal/whsig), records the verified bodies and answers
// with answer.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	bodies []map[string]any
	answer func(body map[string]any) (status int, reply any, delay time.Duration)
}

func newHookReceiver(t *testing.T, answer func(map[string]any) (int, any, time.Duration)) *hookReceiver {
	h := &hookReceiver{t: t, answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setSecret(s string) { h.mu.Lock(); h.secret = s; h.mu.Unlock() }

func (h *hookReceiver) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	h.mu.Lock()
	secret := h.secret
	h.mu.Unlock()
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		verifyStandardWebhook(secret, r.Header, raw, time.Now()) != nil {
		h.t.Errorf("hook request failed the independent signature check: %s %v", r.Method, r.Header)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		h.t.Errorf("hook body: %v", err)
		return
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	h.mu.Unlock()
	status, reply, delay := h.answer(body)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

// createHook registers a hook through the API and hands its secret to rcv.
func (ta *testApp) createHook(tn *store.Tenant, rcv *hookReceiver, in map[string]any) map[string]any {
	ta.t.Helper()
	in["url"] = rcv.srv.URL + "/hook"
	r := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/" + tn.Slug + "/hooks",
		auth: "Bearer " + ta.key(tn.ID, "admin"), body: in})
	if r.status != http.StatusCreated {
		ta.t.Fatalf("create hook: %d %s", r.status, r.body)
	}
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		ta.t.Fatal(err)
	}
	secret, _ := out["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		ta.t.Fatalf("create hook: no whsec_ secret in %s", r.body)
	}
	rcv.setSecret(secret)
	return out
}

func (ta *testApp) openSignup(tn *store.Tenant) {
	ta.t.Helper()
	if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
		body: map[string]any{"settings": map[string]any{"self_service": map[string]any{"signup": "open"}}}}); r.status != http.StatusOK {
		ta.t.Fatalf("patch settings: %d %s", r.status, r.body)
	}
}

// auditOf answers the tenant's audit entries of action.
func (ta *testApp) auditOf(tenant store.TenantID, action string) []store.AuditEntry {
	ta.t.Helper()
	var out []store.AuditEntry
	err := ta.DB.Audit().ScanAudit(context.Background(), tenant, func(e store.AuditEntry) error {
		if e.Action == action {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		ta.t.Fatal(err)
	}
	return out
}

// TestHookPreRegistration: the tenant's pre_registration hook refuses
// addresses at blocked.example with a message per language; the sign-up
// page shows it (escaped, in the page's language) and nothing is created.
// Other addresses are allowed and get the attributes the hook adds.
func TestHookPreRegistration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("shop")
		ta.openSignup(tn)
		rcv := newHookReceiver(t, func(b map[string]any) (int, any, time.Duration) {
			user, _ := b["user"].(map[string]any)
			if email, _ := user["email"].(string); strings.HasSuffix(email, "@blocked.example") {
				return http.StatusOK, map[string]any{"decision": "deny", "message": map[string]string{
					"en": "Sign-ups from <blocked.example> are closed.",
					"de": "Anmeldungen von <blocked.example> sind geschlossen.",
				}}, 0
			}
			return http.StatusOK, map[string]any{"decision": "allow", "attributes": map[string]any{"crm_segment": "retail"}}, 0
		})
		hook := ta.createHook(tn, rcv, map[string]any{"trigger": "pre_registration", "timeout_ms": 2000, "on_failure": "deny"})

		b := ta.browser()
		b.lang = "de"
		tok := b.csrf("/t/shop/signup")
		p := b.post("/t/shop/signup", form("csrf", tok, "email", "mallory@blocked.example", "password", "correct horse battery"))
		if p.status != http.StatusForbidden || !strings.Contains(p.body, html.EscapeString("Anmeldungen von <blocked.example> sind geschlossen.")) ||
			strings.Contains(p.body, "<blocked.example>") {
			t.Fatalf("denied sign-up: %d, want 403 with the German message escaped: %.2000s", p.status, p.body)
		}
		if _, err := ta.Directory.UserForEmail(context.Background(), tn.ID, "mallory@blocked.example"); err == nil {
			t.Fatal("a denied sign-up created the user")
		}
		for _, m := range ta.mails() {
			if strings.Contains(m.To, "blocked.example") {
				t.Fatalf("a denied sign-up sent mail: %+v", m)
			}
		}
		got := rcv.received()
		if len(got) != 1 || got[0]["trigger"] != "pre_registration" {
			t.Fatalf("hook bodies = %v", got)
		}
		ten, _ := got[0]["tenant"].(map[string]any)
		req, _ := got[0]["request"].(map[string]any)
		if ten["slug"] != "shop" || ten["id"] != string(tn.ID) || req["ip"] != "127.0.0.1" || req["user_agent"] == "" {
			t.Errorf("hook body context: tenant %v request %v", ten, req)
		}
		if n := len(ta.auditOf(tn.ID, "hook.denied")); n != 1 {
			t.Errorf("hook.denied entries = %d, want 1", n)
		}

		// An allowed address signs up with the hook's attributes.
		ta.browser().signUpAt("shop", "ann@example.com", "correct horse battery")
		u, err := ta.Directory.UserForEmail(context.Background(), tn.ID, "ann@example.com")
		if err != nil {
			t.Fatalf("allowed sign-up: %v", err)
		}
		var attrs map[string]any
		if err := json.Unmarshal(u.Attributes, &attrs); err != nil || attrs["crm_segment"] != "retail" {
			t.Errorf("attributes = %s, want crm_segment from the hook", u.Attributes)
		}

		// The API shows the hook without its secret; a second hook of the
		// trigger is a conflict; bad input names its fields.
		key := "Bearer " + ta.key(tn.ID, "admin")
		r := ta.get("/api/v1/tenants/shop/hooks/"+hook["id"].(string), strings.TrimPrefix(key, "Bearer "))
		if r.status != http.StatusOK || strings.Contains(string(r.body), "whsec_") || strings.Contains(string(r.body), `"secret"`) {
			t.Errorf("GET hook: %d %s", r.status, r.body)
		}
		r = ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/hooks", auth: key,
			body: map[string]any{"trigger": "pre_registration", "url": rcv.srv.URL}})
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), "trigger") {
			t.Errorf("second pre_registration hook: %d %s", r.status, r.body)
		}
		r = ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/hooks", auth: key,
			body: map[string]any{"trigger": "on_lunch", "url": "ftp://x", "timeout_ms": 50000, "on_failure": "maybe",
				"allowed_claims": []string{"sub"}}})
		p400 := r.problem(t)
		fields := map[string]bool{}
		if errs, ok := p400["errors"].([]any); ok {
			for _, e := range errs {
				m, _ := e.(map[string]any)
				fields[m["field"].(string)] = true
			}
		}
		for _, f := range []string{"trigger", "url", "timeout_ms", "on_failure", "allowed_claims"} {
			if !fields[f] {
				t.Errorf("bad hook: field %s not named: %d %s", f, r.status, r.body)
			}
		}
		r = ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/hooks", auth: key,
			body: map[string]any{"trigger": "pre_token", "url": rcv.srv.URL, "allowed_claims": []string{"exp"}}})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "reserved") {
			t.Errorf("reserved claim: %d %s", r.status, r.body)
		}
		if n := len(ta.auditOf(tn.ID, "hook.create")); n != 1 {
			t.Errorf("hook.create entries = %d, want 1", n)
		}
		r = ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/shop/hooks/" + hook["id"].(string), auth: key})
		if r.status != http.StatusNoContent {
			t.Fatalf("delete hook: %d %s", r.status, r.body)
		}
		// Without the hook the blocked domain signs up like any other.
		ta.browser().signUpAt("shop", "mallory@blocked.example", "correct horse battery")
		if _, err := ta.Directory.UserForEmail(context.Background(), tn.ID, "mallory@blocked.example"); err != nil {
			t.Errorf("sign-up after the hook was deleted: %v", err)
		}
	})
}

// TestHookPreToken: the pre_token hook's claims reach the ID token a real
// client verifies (x/oauth2 + go-oidc) and the JWT access token, within
// the hook's allow-list; reserved and profile claims cannot be replaced.
func TestHookPreToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		alice := ta.userWithPassword(tn.ID, "alice@example.com", "correct horse battery")
		c, secret := ta.registered(tn.ID, oauthclient.NewClient{})
		rcv := newHookReceiver(t, func(b map[string]any) (int, any, time.Duration) {
			return http.StatusOK, map[string]any{"decision": "allow", "claims": map[string]any{
				"plan": "gold", "crm_id": 4711, "sub": "someone-else", "email": "forged@example.com", "not_allowed": true}}, 0
		})
		ta.createHook(tn, rcv, map[string]any{"trigger": "pre_token", "timeout_ms": 2000, "on_failure": "deny",
			"allowed_claims": []string{"plan", "crm_id"}})

		conf := ta.oauthConfig("acme", c, secret)
		tok := ta.userToken("acme", conf, "alice@example.com", "correct horse battery")
		ctx := gooidc.ClientContext(context.Background(), ta.srv.Client())
		ks := gooidc.NewRemoteKeySet(ctx, ta.srv.URL+"/t/acme/keys")
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := gooidc.NewVerifier("http://127.0.0.1/t/acme", ks, &gooidc.Config{ClientID: c.ID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims["plan"] != "gold" || claims["crm_id"] != float64(4711) || idt.Subject != alice.ID ||
			claims["email"] != "alice@example.com" || claims["not_allowed"] != nil {
			t.Errorf("ID token claims: %v", claims)
		}
		payload, err := ks.VerifySignature(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		var at map[string]any
		if err := json.Unmarshal(payload, &at); err != nil {
			t.Fatal(err)
		}
		if at["plan"] != "gold" || at["crm_id"] != float64(4711) || at["sub"] != alice.ID || at["not_allowed"] != nil ||
			at["email"] != nil {
			t.Errorf("access token claims: %v", at)
		}
		got := rcv.received()
		if len(got) != 1 {
			t.Fatalf("pre_token hook called %d times for one token response", len(got))
		}
		user, _ := got[0]["user"].(map[string]any)
		client, _ := got[0]["client"].(map[string]any)
		scopes, _ := client["scopes"].([]any)
		if user["id"] != alice.ID || user["email"] != "alice@example.com" || client["id"] != c.ID || len(scopes) != 3 {
			t.Errorf("pre_token body: user %v client %v", user, client)
		}
	})
}

// TestHookTimeout: a post_login hook that answers only after its timeout
// is given up at the deadline: with on_failure allow the login goes on,
// with deny it ends with the page's refusal and no session; either way
// the failure is audited (trigger, hook, reason; no body) and the login
// takes no longer than a login without the hook plus the timeout plus
// 100 ms.
func TestHookTimeout(t *testing.T) {
	forEachBackendInTurn(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		const timeout = 300 * time.Millisecond
		for i, onFailure := range []string{"allow", "deny"} {
			slug := "hooks-" + strconv.Itoa(i)
			tn := ta.tenant(slug)
			ta.userWithPassword(tn.ID, "bob@example.com", "correct horse battery")
			c, _ := ta.registered(tn.ID, oauthclient.NewClient{})
			login := func() (page, time.Duration) {
				b := ta.browser()
				p := b.get("/t/" + slug + "/authorize?" + url.Values{"client_id": {c.ID}, "redirect_uri": {appRedirect},
					"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "code_challenge_method": {"S256"},
					"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}.Encode())
				lu, err := url.Parse(p.location())
				if err != nil || lu.Query().Get("id") == "" {
					t.Fatalf("authorize: %d %q", p.status, p.location())
				}
				id := lu.Query().Get("id")
				tok := b.csrf("/t/" + slug + "/login?id=" + id)
				start := time.Now()
				p = b.post("/t/"+slug+"/login", form("csrf", tok, "id", id, "identifier", "bob@example.com", "password", "correct horse battery"))
				return p, time.Since(start)
			}
			// The same login without a hook, for the baseline.
			base, baseTook := login()
			if base.status != http.StatusSeeOther || !hasSessionCookie(base) {
				t.Fatalf("%s: login without a hook: %d", onFailure, base.status)
			}
			rcv := newHookReceiver(t, func(map[string]any) (int, any, time.Duration) {
				return http.StatusOK, map[string]any{"decision": "deny", "message": "too late to count"}, 5 * time.Second
			})
			ta.createHook(tn, rcv, map[string]any{"trigger": "post_login", "timeout_ms": int(timeout / time.Millisecond),
				"on_failure": onFailure})
			p, took := login()
			t.Logf("%s/%s: login %v with a hook that sleeps past its %v timeout (without a hook %v)", be.name, onFailure, took, timeout, baseTook)
			if took < timeout {
				t.Errorf("%s: the login took %v, less than the hook's timeout: the hook was not waited for", onFailure, took)
			}
			if bound := baseTook + timeout + 100*time.Millisecond; took > bound {
				t.Errorf("%s: the login took %v, more than %v (without the hook %v, timeout %v, + 100 ms)", onFailure, took, bound, baseTook, timeout)
			}
			switch onFailure {
			case "allow":
				if p.status != http.StatusSeeOther || !hasSessionCookie(p) {
					t.Errorf("allow: login after a timed-out hook: %d %.300s", p.status, p.body)
				}
			case "deny":
				if p.status != http.StatusForbidden || hasSessionCookie(p) || strings.Contains(p.body, "too late to count") ||
					!strings.Contains(p.body, "This action is not allowed for your account.") {
					t.Errorf("deny: login after a timed-out hook: %d %.600s", p.status, p.body)
				}
			}
			if len(rcv.received()) != 1 {
				t.Errorf("%s: the hook was called %d times", onFailure, len(rcv.received()))
			}
			failed := ta.auditOf(tn.ID, "hook.failed")
			if len(failed) != 1 {
				t.Fatalf("%s: hook.failed entries = %d", onFailure, len(failed))
			}
			ch := string(failed[0].Changes)
			if !strings.Contains(ch, `"post_login"`) || !strings.Contains(ch, "no answer within 300 ms") ||
				strings.Contains(ch, "too late") || failed[0].TargetType != "hook" {
				t.Errorf("%s: hook.failed entry: %s %s", onFailure, failed[0].TargetID, ch)
			}
		}
	})
}

// TestHookPostLoginDenies: the post_login hook sees the authenticated
// user and the methods used, and its refusal ends the login on the page
// with its message in the page's language (escaped), with no session;
// another user of the same tenant signs in.
func TestHookPostLoginDenies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		eve := ta.userWithPassword(tn.ID, "eve@example.com", "correct horse battery")
		ta.userWithPassword(tn.ID, "ann@example.com", "correct horse battery")
		c, _ := ta.registered(tn.ID, oauthclient.NewClient{})
		rcv := newHookReceiver(t, func(b map[string]any) (int, any, time.Duration) {
			if u, _ := b["user"].(map[string]any); u["id"] == eve.ID {
				return http.StatusOK, map[string]any{"decision": "deny", "message": map[string]string{
					"en": "Your contract <ended>.", "es": "Tu contrato <terminó>."}}, 0
			}
			return http.StatusOK, map[string]any{"decision": "allow"}, 0
		})
		ta.createHook(tn, rcv, map[string]any{"trigger": "post_login", "on_failure": "deny"})
		signIn := func(email string) page {
			b := ta.browser()
			b.lang = "es"
			p := b.get("/t/acme/authorize?" + url.Values{"client_id": {c.ID}, "redirect_uri": {appRedirect},
				"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "code_challenge_method": {"S256"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}.Encode())
			lu, err := url.Parse(p.location())
			if err != nil || lu.Query().Get("id") == "" {
				t.Fatalf("authorize: %d %q", p.status, p.location())
			}
			return passwordStep(t, b, "acme", lu.Query().Get("id"), email, "correct horse battery")
		}
		p := signIn("eve@example.com")
		if p.status != http.StatusForbidden || hasSessionCookie(p) ||
			!strings.Contains(p.body, html.EscapeString("Tu contrato <terminó>.")) || strings.Contains(p.body, "<terminó>") {
			t.Fatalf("denied login: %d %.1500s", p.status, p.body)
		}
		if p := signIn("ann@example.com"); p.status != http.StatusSeeOther || !hasSessionCookie(p) {
			t.Fatalf("allowed login: %d", p.status)
		}
		got := rcv.received()
		if len(got) != 2 {
			t.Fatalf("hook called %d times, want 2", len(got))
		}
		amr, _ := got[0]["amr"].([]any)
		user, _ := got[0]["user"].(map[string]any)
		if len(amr) != 1 || amr[0] != "pwd" || user["email"] != "eve@example.com" || got[0]["trigger"] != "post_login" {
			t.Errorf("post_login body: %v", got[0])
		}
		if n := len(ta.auditOf(tn.ID, "hook.denied")); n != 1 {
			t.Errorf("hook.denied entries = %d, want 1", n)
		}
	})
}
