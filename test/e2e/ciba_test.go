package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

const cibaGrant = "urn:openid:params:grant-type:ciba"

// cibaEnv is one running server with a mail server, a CIBA user and the
// tenant's discovery.
type cibaEnv struct {
	t        *testing.T
	n        *node
	env      []string
	api      *client
	mp       *mailpit.Server
	bcURL    string
	tokenURL string
	issuer   string
	seen     []string // mails already read
}

func startCIBA(t *testing.T, b backend) *cibaEnv {
	t.Helper()
	mp := mailpit.Start(t)
	env := append(testEnv(t.TempDir(), b.db, testMasterKey),
		"GATEHOUSE_SMTP_HOST="+mp.SMTPHost, "GATEHOUSE_SMTP_PORT="+strconv.Itoa(mp.SMTPPort))
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	e := &cibaEnv{t: t, n: n, env: env, api: &client{t: t, base: n.URL, token: lastLine(out)}, mp: mp}
	res, err := http.Get(n.URL + "/t/default/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Issuer   string   `json:"issuer"`
		BC       string   `json:"backchannel_authentication_endpoint"`
		Modes    []string `json:"backchannel_token_delivery_modes_supported"`
		Token    string   `json:"token_endpoint"`
		Grants   []string `json:"grant_types_supported"`
		UserCode *bool    `json:"backchannel_user_code_parameter_supported"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if d.BC != d.Issuer+"/bc-authorize" || strings.Join(d.Modes, " ") != "poll ping" || d.UserCode == nil || *d.UserCode ||
		!strings.Contains(strings.Join(d.Grants, " "), cibaGrant) {
		t.Fatalf("discovery: %+v", d)
	}
	e.bcURL, e.tokenURL, e.issuer = d.BC, d.Token, d.Issuer
	return e
}

// cibaClient registers a confidential CIBA client through the management
// API with the CIBA metadata names; it answers its id and secret.
func (e *cibaEnv) cibaClient(mode, endpoint string) (string, string) {
	body := map[string]any{"name": "Point of Sale", "grant_types": []string{cibaGrant},
		"token_endpoint_auth_method": "client_secret_basic", "backchannel_token_delivery_mode": mode}
	if endpoint != "" {
		body["backchannel_client_notification_endpoint"] = endpoint
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
		Mode   string `json:"backchannel_token_delivery_mode"`
		EP     string `json:"backchannel_client_notification_endpoint"`
	}
	e.api.must(201, "POST", "/api/v1/tenants/default/clients", body).json(e.t, &c)
	if c.Mode != mode || c.EP != endpoint {
		e.t.Fatalf("registered CIBA metadata: %+v", c)
	}
	return c.ID, c.Secret
}

// authenticate posts a backchannel authentication request.
func (e *cibaEnv) authenticate(id, secret string, form url.Values) oauthResp {
	e.t.Helper()
	return postForm(e.t, e.bcURL, form, id, secret)
}

// poll asks for tokens with golang.org/x/oauth2 (its token request with
// the CIBA grant_type and auth_req_id); it answers the token or the
// error code the client library parsed.
func (e *cibaEnv) poll(id, secret, authReqID string) (*oauth2.Token, string) {
	e.t.Helper()
	conf := &oauth2.Config{ClientID: id, ClientSecret: secret,
		Endpoint: oauth2.Endpoint{TokenURL: e.tokenURL, AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.Exchange(context.Background(), "", oauth2.SetAuthURLParam("grant_type", cibaGrant),
		oauth2.SetAuthURLParam("auth_req_id", authReqID))
	if rerr, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		return nil, rerr.ErrorCode
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, ""
}

// approvalLink waits for the approval mail to email and answers its link.
func (e *cibaEnv) approvalLink(email string) string {
	e.t.Helper()
	m := e.mp.WaitFor(e.t, email, "Approve a sign-in", 30*time.Second, e.seen...)
	e.seen = append(e.seen, m.ID)
	return mailLink(e.t, m, e.n.URL+"/t/default/ciba?token=gh_ca_")
}

// answer follows the mailed link in a fresh browser, signs in as the
// user and approves or denies; it answers the confirmation page.
func (e *cibaEnv) answer(link, email, password, action string) string {
	e.t.Helper()
	f := newFormClient(e.t, e.n.URL)
	res, err := f.c.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	page := readAll(e.t, res)
	if !strings.HasSuffix(res.Request.URL.Path, "/login") || !strings.Contains(page, `value="`+email+`"`) {
		e.t.Fatalf("the link did not lead to the sign-in with the account prefilled: %s %.400s", res.Request.URL, page)
	}
	form := formValues(page, "csrf", "id")
	form.Set("identifier", email)
	form.Set("password", password)
	res, err = f.c.PostForm(e.n.URL+"/t/default/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	page = readAll(e.t, res)
	if res.Request.URL.Path != "/t/default/ciba" || !strings.Contains(page, "Point of Sale") {
		e.t.Fatalf("after signing in: %s %.600s", res.Request.URL, page)
	}
	form = formValues(page, "csrf", "id")
	form.Set("action", action)
	res, err = f.c.PostForm(e.n.URL+"/t/default/ciba", form)
	if err != nil {
		e.t.Fatal(err)
	}
	done := readAll(e.t, res)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("%s: %d %.400s", action, res.StatusCode, done)
	}
	return page
}

// TestCIBA: OpenID CIBA against the real binary on each database, with a
// real SMTP server (mailpit) carrying the approval link, the user signing
// in through the hosted login and answering, and golang.org/x/oauth2
// polling the token endpoint; go-oidc verifies the ID token.
func TestCIBA(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := startCIBA(t, b)
			const email, password = "grace@example.com", "a long ciba passphrase"
			userID := mkUser(e.api, map[string]any{"email": email, "password": password, "email_verified": true})
			id, secret := e.cibaClient("poll", "")
			// Requests no subtest answers name ada, so that their mails are
			// never taken for the approval mails to grace the others wait for.
			const ada = "ada@example.com"
			mkUser(e.api, map[string]any{"email": ada, "password": password, "email_verified": true})

			var idToken string // from Poll, the hint of IDTokenHint
			t.Run("Poll", func(t *testing.T) {
				e.t = t
				r := e.authenticate(id, secret, url.Values{"scope": {"openid email"}, "login_hint": {email},
					"binding_message": {"Pay 42 EUR at till 7"}})
				authReq := r.str("auth_req_id")
				if r.Status != 200 || !strings.HasPrefix(authReq, "gh_ar_") || r.Body["expires_in"] != 300.0 || r.Body["interval"] != 5.0 {
					t.Fatalf("backchannel authentication: %d %v", r.Status, r.Body)
				}
				if _, code := e.poll(id, secret, authReq); code != "authorization_pending" {
					t.Fatalf("first poll: %q", code)
				}
				if _, code := e.poll(id, secret, authReq); code != "slow_down" {
					t.Fatalf("poll at once again: %q, want slow_down", code)
				}
				polled := time.Now()
				page := e.answer(e.approvalLink(email), email, password, "approve")
				if !strings.Contains(page, "Pay 42 EUR at till 7") || !strings.Contains(page, email) {
					t.Fatalf("the approval page does not show the binding message and account: %.600s", page)
				}
				time.Sleep(time.Until(polled.Add(5 * time.Second)))
				tok, code := e.poll(id, secret, authReq)
				if code != "" {
					t.Fatalf("poll after approval: %q", code)
				}
				raw, _ := tok.Extra("id_token").(string)
				v := gooidc.NewVerifier(e.issuer, gooidc.NewRemoteKeySet(context.Background(), e.issuer+"/keys"),
					&gooidc.Config{ClientID: id, SupportedSigningAlgs: []string{"RS256", "ES256", "EdDSA"}})
				idt, err := v.Verify(context.Background(), raw)
				if err != nil || idt.Subject != userID {
					t.Fatalf("ID token: %v %+v", err, idt)
				}
				idToken = raw
				if ur := bearerGet(t, e.issuer+"/userinfo", tok.AccessToken); ur.str("email") != email {
					t.Fatalf("access token at userinfo: %d %v", ur.Status, ur.Body)
				}
				// A second use is refused and revokes what the first produced.
				if _, code := e.poll(id, secret, authReq); code != "invalid_grant" {
					t.Fatalf("second use of auth_req_id: %q, want invalid_grant", code)
				}
				if ur := bearerGet(t, e.issuer+"/userinfo", tok.AccessToken); ur.Status != 401 {
					t.Fatalf("access token after a second use of its auth_req_id: %d %v", ur.Status, ur.Body)
				}
			})

			t.Run("IDTokenHint", func(t *testing.T) {
				e.t = t
				if idToken == "" {
					t.Skip("Poll did not get an ID token")
				}
				r := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "id_token_hint": {idToken}})
				if r.Status != 200 {
					t.Fatalf("id_token_hint: %d %v", r.Status, r.Body)
				}
				e.answer(e.approvalLink(email), email, password, "approve")
				if tok, code := e.poll(id, secret, r.str("auth_req_id")); code != "" || tok.AccessToken == "" {
					t.Fatalf("poll: %q", code)
				}
			})

			t.Run("Denied", func(t *testing.T) {
				e.t = t
				r := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {email}})
				e.answer(e.approvalLink(email), email, password, "deny")
				if _, code := e.poll(id, secret, r.str("auth_req_id")); code != "access_denied" {
					t.Fatalf("poll after denial: %q", code)
				}
			})

			t.Run("OtherAccount", func(t *testing.T) {
				e.t = t
				const bob = "bob@example.com"
				mkUser(e.api, map[string]any{"email": bob, "password": password, "email_verified": true})
				r := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {email}})
				f := newFormClient(t, e.n.URL)
				res, err := f.c.Get(e.approvalLink(email))
				if err != nil {
					t.Fatal(err)
				}
				form := formValues(readAll(t, res), "csrf", "id")
				form.Set("identifier", bob) // the link forwarded to someone else, who signs in as themselves
				form.Set("password", password)
				res, err = f.c.PostForm(e.n.URL+"/t/default/login", form)
				if err != nil {
					t.Fatal(err)
				}
				page := readAll(t, res)
				if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "This request is for another account") {
					t.Fatalf("another account at the approval page: %d %.400s", res.StatusCode, page)
				}
				cibaID := res.Request.URL.Query().Get("id")
				res, err = f.c.PostForm(e.n.URL+"/t/default/ciba", url.Values{"csrf": {f.csrf()}, "id": {cibaID}, "action": {"approve"}})
				if err != nil {
					t.Fatal(err)
				}
				if readAll(t, res); res.StatusCode != http.StatusForbidden {
					t.Fatalf("approval posted by another account: %d", res.StatusCode)
				}
				if _, code := e.poll(id, secret, r.str("auth_req_id")); code != "authorization_pending" {
					t.Fatalf("after another account tried: %q", code)
				}
			})

			t.Run("MFAPolicy", func(t *testing.T) {
				e.t = t
				// The client asks for MFA (acr_values); the approval runs the
				// second-factor step of the login before the page.
				const carol = "carol@example.com"
				mkUser(e.api, map[string]any{"email": carol, "password": password, "email_verified": true})
				r := newRP(t, e.env, e.n.URL, "default")
				totpSecret := r.enrolTOTP(e.n.URL, "default", carol, password)
				jar, _ := cookiejar.New(nil)
				r.browser.Jar = jar // the mail opened in a fresh browser
				ar := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {carol}, "acr_values": {"mfa"}})
				res, body := r.page("GET", e.approvalLink(carol), nil)
				res, body = r.submit(res, body, url.Values{"identifier": {carol}, "password": {password}})
				if !strings.HasSuffix(res.Request.URL.Path, "/login/mfa") || !strings.Contains(body, `autocomplete="one-time-code"`) {
					t.Fatalf("no second factor asked: %d at %s", res.StatusCode, res.Request.URL)
				}
				code, _ := totp.GenerateCode(totpSecret, time.Now().Add(30*time.Second)) // the enrolment spent this step
				res, body = r.submit(res, body, url.Values{"code": {code}})
				if res.Request.URL.Path != "/t/default/ciba" || !strings.Contains(body, "Point of Sale") {
					t.Fatalf("after the second factor: %d at %s %.300s", res.StatusCode, res.Request.URL, body)
				}
				if res, _ = r.submit(res, body, url.Values{"action": {"approve"}}); res.StatusCode != 200 {
					t.Fatalf("approve: %d", res.StatusCode)
				}
				tok, errCode := e.poll(id, secret, ar.str("auth_req_id"))
				if errCode != "" {
					t.Fatalf("poll: %q", errCode)
				}
				if amr, acr := idTokenAMR(t, tok.Extra("id_token").(string)); !slices.Contains(amr, "otp") || acr != "mfa" {
					t.Fatalf("ID token after a second factor: amr %v acr %q", amr, acr)
				}
			})

			t.Run("Expired", func(t *testing.T) {
				e.t = t
				r := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {email}, "requested_expiry": {"1"}})
				if r.Body["expires_in"] != 1.0 {
					t.Fatalf("requested_expiry: %v", r.Body)
				}
				link := e.approvalLink(email)
				time.Sleep(1100 * time.Millisecond)
				if _, code := e.poll(id, secret, r.str("auth_req_id")); code != "expired_token" {
					t.Fatalf("poll after expiry: %q", code)
				}
				res, err := http.Get(link)
				if err != nil {
					t.Fatal(err)
				}
				if page := readAll(t, res); res.StatusCode != 400 || !strings.Contains(page, "Request ended") {
					t.Fatalf("expired link: %d %.300s", res.StatusCode, page)
				}
			})

			t.Run("Refusals", func(t *testing.T) {
				e.t = t
				var plain struct {
					ID     string `json:"client_id"`
					Secret string `json:"client_secret"`
				}
				e.api.must(201, "POST", "/api/v1/tenants/default/clients", map[string]any{"name": "No CIBA",
					"grant_types": []string{"client_credentials"}}).json(t, &plain)
				ok := url.Values{"scope": {"openid"}, "login_hint": {ada}}
				with := func(k, v string) url.Values {
					f := url.Values{}
					for kk, vv := range ok {
						f[kk] = vv
					}
					if v == "" {
						f.Del(k)
					} else {
						f.Set(k, v)
					}
					return f
				}
				for _, c := range []struct {
					name, id, secret string
					form             url.Values
					want             string
				}{
					{"wrong secret", id, "nope", ok, "invalid_client"},
					{"client without the grant", plain.ID, plain.Secret, ok, "unauthorized_client"},
					{"no openid", id, secret, with("scope", "email"), "invalid_scope"},
					{"no hint", id, secret, with("login_hint", ""), "invalid_request"},
					{"two hints", id, secret, with("id_token_hint", "x.y.z"), "invalid_request"},
					{"login_hint_token", id, secret, url.Values{"scope": {"openid"}, "login_hint_token": {"x"}}, "invalid_request"},
					{"forged id_token_hint", id, secret, url.Values{"scope": {"openid"}, "id_token_hint": {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}}, "invalid_request"},
					{"binding message too long", id, secret, with("binding_message", strings.Repeat("x", 65)), "invalid_binding_message"},
					{"binding message with a control character", id, secret, with("binding_message", "pay\nnow"), "invalid_binding_message"},
					{"user_code", id, secret, with("user_code", "1234"), "invalid_request"},
					{"requested_expiry too long", id, secret, with("requested_expiry", "601"), "invalid_request"},
				} {
					if r := e.authenticate(c.id, c.secret, c.form); r.errCode() != c.want {
						t.Errorf("%s: %d %v, want %s", c.name, r.Status, r.Body, c.want)
					}
				}
				r := e.authenticate(id, secret, ok)
				if _, code := e.poll(plain.ID, plain.Secret, r.str("auth_req_id")); code != "unauthorized_client" {
					t.Errorf("poll by a client without the grant: %q", code)
				}
				other, otherSecret := e.cibaClient("poll", "")
				if _, code := e.poll(other, otherSecret, r.str("auth_req_id")); code != "invalid_grant" {
					t.Errorf("poll with another client's auth_req_id: %q", code)
				}
				if _, code := e.poll(id, secret, "gh_ar_unknown"); code != "invalid_grant" {
					t.Errorf("poll with an unknown auth_req_id: %q", code)
				}
				res, err := http.Post(e.bcURL+"?login_hint="+url.QueryEscape(email), "application/x-www-form-urlencoded", strings.NewReader("scope=openid"))
				if err != nil {
					t.Fatal(err)
				}
				if readAll(t, res); res.StatusCode != 400 {
					t.Errorf("parameters in the URL: %d", res.StatusCode)
				}
				// Registration: the CIBA metadata are checked.
				for name, body := range map[string]map[string]any{
					"ping without endpoint": {"backchannel_token_delivery_mode": "ping"},
					"ping over http elsewhere": {"backchannel_token_delivery_mode": "ping",
						"backchannel_client_notification_endpoint": "http://rp.example/notify"},
					"push mode":      {"backchannel_token_delivery_mode": "push"},
					"user codes":     {"backchannel_token_delivery_mode": "poll", "backchannel_user_code_parameter": true},
					"public client":  {"backchannel_token_delivery_mode": "poll", "public": true, "token_endpoint_auth_method": "none"},
					"mode, no grant": {"backchannel_token_delivery_mode": "poll", "grant_types": []string{"client_credentials"}},
				} {
					body["name"] = "Refused"
					if _, has := body["grant_types"]; !has {
						body["grant_types"] = []string{cibaGrant}
					}
					if res := e.api.do("POST", "/api/v1/tenants/default/clients", body); res.Status != 400 {
						t.Errorf("registering %s: %d %s", name, res.Status, res.Body)
					}
				}
			})

			t.Run("NoEnumeration", func(t *testing.T) {
				e.t = t
				shape := func(r oauthResp) string {
					keys := []string{}
					for k := range r.Body {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					return strconv.Itoa(r.Status) + strings.Join(keys, ",")
				}
				var known, unknown []time.Duration
				var shapes [2]string
				for i := range 5 {
					start := time.Now()
					r := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {ada}})
					known = append(known, time.Since(start))
					shapes[0] = shape(r)
					start = time.Now()
					r = e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {"nobody" + strconv.Itoa(i) + "@example.com"}})
					unknown = append(unknown, time.Since(start))
					shapes[1] = shape(r)
					if _, code := e.poll(id, secret, r.str("auth_req_id")); code != "authorization_pending" {
						t.Fatalf("poll for nobody: %q", code)
					}
				}
				if shapes[0] != shapes[1] {
					t.Fatalf("answers differ: known %s, unknown %s", shapes[0], shapes[1])
				}
				k, u := medianOf(known), medianOf(unknown)
				t.Logf("median answer: known user %s, unknown %s", k, u)
				if d := k - u; d > 50*time.Millisecond || d < -50*time.Millisecond {
					t.Fatalf("answer times differ by %s", d)
				}
				for _, m := range e.mp.Messages(t) {
					if strings.HasPrefix(m.To[0], "nobody") {
						t.Fatalf("a mail went to an unknown address: %+v", m)
					}
				}
			})

			t.Run("Ping", func(t *testing.T) {
				e.t = t
				var (
					mu    sync.Mutex
					pings []string
					auths []string
				)
				notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					pings, auths = append(pings, string(b)), append(auths, r.Header.Get("Authorization"))
					mu.Unlock()
					w.WriteHeader(http.StatusNoContent)
				}))
				defer notify.Close()
				pid, psecret := e.cibaClient("ping", notify.URL+"/ciba/notify")
				if r := e.authenticate(pid, psecret, url.Values{"scope": {"openid"}, "login_hint": {email}}); r.errCode() != "invalid_request" {
					t.Fatalf("ping without client_notification_token: %d %v", r.Status, r.Body)
				}
				r := e.authenticate(pid, psecret, url.Values{"scope": {"openid"}, "login_hint": {"grace@EXAMPLE.com"},
					"client_notification_token": {"nt-8d6f1c0e2b"}})
				authReq := r.str("auth_req_id")
				e.answer(e.approvalLink(email), email, password, "approve")
				if !eventually(func() bool { mu.Lock(); defer mu.Unlock(); return len(pings) == 1 }) {
					t.Fatalf("no ping\n%s", e.n.Logs())
				}
				var body struct {
					AuthReqID string `json:"auth_req_id"`
				}
				if err := json.Unmarshal([]byte(pings[0]), &body); err != nil || body.AuthReqID != authReq || auths[0] != "Bearer nt-8d6f1c0e2b" {
					t.Fatalf("ping: %s %q", pings[0], auths[0])
				}
				if tok, code := e.poll(pid, psecret, authReq); code != "" || tok.AccessToken == "" {
					t.Fatalf("token after ping: %q", code)
				}
			})
		})
	}
}
