package e2e

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuthz runs the authorization scenario on each backend through the
// real binary: roles through nested groups, the check API with reasons,
// role and permission claims chosen per OAuth client in tokens a real
// client library obtains, an elevation approved and revoked, a break-glass
// account whose login and tokens raise the alert, and an access review
// whose revocation leaves the next token without the role.
func TestAuthz(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			authzScenario(t, deploy(t, b))
		})
	}
}

// claimsOf decodes a JWT's payload (its signature is checked elsewhere:
// verifyID and the client library).
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	_, payload, _ := jwtParts(t, tok)
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	var c map[string]any
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("JWT payload %q: %v", payload, err)
	}
	return c
}

// strs reads a claim that is a list of strings; nil when absent.
func strs(c map[string]any, name string) []string {
	l, ok := c[name].([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func authzScenario(t *testing.T, d *deployment) {
	const tp = "/api/v1/tenants/default"
	ctx := context.Background()
	api := d.platform(t)
	ada := d.user(t, "default", adaEmail, adaPW)
	rev := d.user(t, "default", "rev@example.com", "quiet harbour lantern 7")
	bg := d.user(t, "default", "glass@example.com", "emergency lever 9 copper")
	id := func(r resp) string {
		var m map[string]any
		r.json(t, &m)
		s, _ := m["id"].(string)
		return s
	}
	payables := id(api.must(201, "POST", tp+"/groups", map[string]string{"name": "payables"}))
	finance := id(api.must(201, "POST", tp+"/groups", map[string]string{"name": "finance"}))
	api.must(201, "POST", tp+"/groups/"+payables+"/members", map[string]string{"user_id": ada})
	api.must(201, "POST", tp+"/groups/"+finance+"/members", map[string]string{"group_id": payables})
	// A cycle is refused by the directory.
	if r := api.do("POST", tp+"/groups/"+payables+"/members", map[string]string{"group_id": finance}); r.Status != 409 {
		t.Errorf("cycle: %d %s", r.Status, r.Body)
	}

	rpA := d.rp(t, "default")
	rpB := d.rp(t, "default")
	api.must(200, "PATCH", tp+"/clients/"+rpA.conf.ClientID, map[string]any{
		"authz_claims": map[string]any{"roles_claim": "roles", "permissions_claim": "permissions"}})
	api.must(200, "PATCH", tp+"/clients/"+rpB.conf.ClientID, map[string]any{
		"authz_claims": map[string]any{"roles_claim": "app_roles", "application_only": true}})
	if r := api.do("PATCH", tp+"/clients/"+rpB.conf.ClientID, map[string]any{
		"authz_claims": map[string]any{"roles_claim": "sub"}}); r.Status != 400 {
		t.Errorf("authz claim named sub: %d %s", r.Status, r.Body)
	}

	api.must(201, "POST", tp+"/roles", map[string]any{"name": "invoice-approver", "permissions": []string{"invoices:approve"}})
	api.must(201, "POST", tp+"/roles", map[string]any{"name": "b-admin", "permissions": []string{"b:admin"},
		"application": rpB.conf.ClientID})
	prod := id(api.must(201, "POST", tp+"/roles", map[string]any{"name": "prod", "permissions": []string{"prod:write"},
		"privileged": true, "max_duration": "2h", "approvers": []string{rev}}))
	api.must(201, "POST", tp+"/groups/"+finance+"/roles", map[string]string{"role": "invoice-approver"})
	api.must(201, "POST", tp+"/users/"+ada+"/roles", map[string]string{"role": "b-admin"})
	api.must(201, "POST", tp+"/users/"+ada+"/roles", map[string]string{"role": "prod"})

	// The check API answers a read key, with reasons.
	out, _, _ := cli(t, d.env, "apikey", "create", "--tenant", "default", "--scopes", "read")
	reader := &client{t: t, base: d.base, token: lastLine(out)}
	var dec struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	reader.must(200, "POST", tp+"/authz/check", map[string]string{"user_id": ada, "permission": "invoices:approve"}).json(t, &dec)
	if !dec.Allowed || dec.Reason != `allowed: role "invoice-approver" grants "invoices:approve", through group "finance"` {
		t.Errorf("check through nested groups: %+v", dec)
	}
	reader.must(200, "POST", tp+"/authz/check", map[string]string{"user_id": ada, "permission": "prod:write"}).json(t, &dec)
	if dec.Allowed || !strings.Contains(dec.Reason, "eligible") {
		t.Errorf("privileged, not elevated: %+v", dec)
	}
	var batch struct {
		Results []struct{ Allowed bool } `json:"results"`
	}
	reader.must(200, "POST", tp+"/authz/check/batch", map[string]any{"checks": []map[string]string{
		{"user_id": ada, "permission": "b:admin"}, {"user_id": rev, "permission": "b:admin"}}}).json(t, &batch)
	if len(batch.Results) != 2 || !batch.Results[0].Allowed || batch.Results[1].Allowed {
		t.Errorf("batch: %+v", batch)
	}
	if r := reader.do("POST", tp+"/roles", map[string]any{"name": "x"}); r.Status != 403 {
		t.Errorf("read key creating a role: %d", r.Status)
	}

	// Tokens: each client gets the claims it chose. The privileged role is
	// not active, so it is in none of them.
	tokA := rpA.tokens(adaEmail, adaPW)
	idA := claimsOf(t, tokA.Extra("id_token").(string))
	atA := claimsOf(t, tokA.AccessToken)
	for name, c := range map[string]map[string]any{"ID token": idA, "access token": atA} {
		if got := strs(c, "roles"); !slices.Equal(got, []string{"b-admin", "invoice-approver"}) {
			t.Errorf("client A %s roles = %v", name, got)
		}
		if got := strs(c, "permissions"); !slices.Equal(got, []string{"b:admin", "invoices:approve"}) {
			t.Errorf("client A %s permissions = %v", name, got)
		}
	}
	if _, err := rpA.verifier.Verify(ctx, tokA.Extra("id_token").(string)); err != nil {
		t.Errorf("client A ID token does not verify: %v", err)
	}
	ui := bearerGet(t, d.discover(t, "default").UserInfo, tokA.AccessToken)
	if got := strs(ui.Body, "roles"); !slices.Equal(got, []string{"b-admin", "invoice-approver"}) {
		t.Errorf("userinfo roles = %v (%s)", got, ui.Raw)
	}
	tokB := rpB.tokens(adaEmail, adaPW)
	atB := claimsOf(t, tokB.AccessToken)
	if got := strs(atB, "app_roles"); !slices.Equal(got, []string{"b-admin"}) || atB["roles"] != nil || atB["permissions"] != nil {
		t.Errorf("client B access token = %v", atB)
	}

	// Elevation: an approver named in the body refused (the decision is
	// the caller's), approval by the key, active, revoked.
	var el struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		DecidedBy string `json:"decided_by"`
	}
	api.must(201, "POST", tp+"/users/"+ada+"/elevations", map[string]string{"role": prod, "reason": "INC-7", "duration": "1h"}).json(t, &el)
	if r := api.do("POST", tp+"/elevations/"+el.ID+"/approve", map[string]string{"approver_id": rev}); r.Status != 400 {
		t.Errorf("approver named in the body: %d %s", r.Status, r.Body)
	}
	api.must(200, "POST", tp+"/elevations/"+el.ID+"/approve", nil).json(t, &el)
	if el.State != "active" || !strings.HasPrefix(el.DecidedBy, "apikey:") {
		t.Errorf("approved elevation state %q, decided by %q", el.State, el.DecidedBy)
	}
	reader.must(200, "POST", tp+"/authz/check", map[string]string{"user_id": ada, "permission": "prod:write"}).json(t, &dec)
	if !dec.Allowed || !strings.Contains(dec.Reason, "elevated until") {
		t.Errorf("elevated: %+v", dec)
	}
	// A password-only login: the MFA-requiring privileged role stays out
	// of tokens even while elevated.
	if got := strs(claimsOf(t, rpA.tokens(adaEmail, adaPW).AccessToken), "roles"); slices.Contains(got, "prod") {
		t.Errorf("privileged role in a password-only token: %v", got)
	}
	api.must(200, "POST", tp+"/elevations/"+el.ID+"/revoke", nil)
	reader.must(200, "POST", tp+"/authz/check", map[string]string{"user_id": ada, "permission": "prod:write"}).json(t, &dec)
	if dec.Allowed {
		t.Errorf("after revocation: %+v", dec)
	}

	// Break-glass: its login and its tokens raise the alert.
	api.must(201, "POST", tp+"/break-glass", map[string]string{"user_id": bg, "note": "safe 2"})
	// A fresh browser (rpA's has ada's session).
	d.rp(t, "default").tokens("glass@example.com", "emergency lever 9 copper")
	var alerts struct {
		Items []struct {
			Changes map[string]struct {
				After any `json:"after"`
			} `json:"changes"`
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
		} `json:"items"`
	}
	api.must(200, "GET", tp+"/audit?action=authz.break_glass.used", nil).json(t, &alerts)
	var via []string
	for _, a := range alerts.Items {
		if a.Target.ID != bg {
			t.Errorf("alert about %s", a.Target.ID)
		}
		s, _ := a.Changes["via"].After.(string)
		via = append(via, s)
	}
	slices.Sort(via)
	if !slices.Equal(via, []string{"login", "token"}) {
		t.Errorf("break-glass alerts via %v, want login and token", via)
	}
	if !eventually(func() bool { return strings.Contains(d.n.Logs(), "ALERT: break-glass account used") }) {
		t.Errorf("no alert in the log: %s", d.n.Logs())
	}

	// Access review of application B: revoking ada's b-admin takes effect
	// at once, so the next token (a refresh) lacks the role.
	var camp struct {
		ID string `json:"id"`
	}
	api.must(201, "POST", tp+"/reviews", map[string]any{"name": "B quarterly", "scope": "application",
		"application": rpB.conf.ClientID, "reviewers": []string{rev},
		"deadline": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)}).json(t, &camp)
	var items struct {
		Items []struct {
			ID      string `json:"id"`
			UserID  string `json:"user_id"`
			Role    string `json:"role"`
			Subject string `json:"subject"`
		} `json:"items"`
	}
	api.must(200, "GET", tp+"/reviews/"+camp.ID+"/items", nil).json(t, &items)
	if len(items.Items) != 1 || items.Items[0].UserID != ada || items.Items[0].Role != "b-admin" || items.Items[0].Subject != adaEmail {
		t.Fatalf("review items: %+v", items)
	}
	api.must(200, "POST", tp+"/reviews/"+camp.ID+"/items/"+items.Items[0].ID+"/decision",
		map[string]string{"decision": "revoke", "reviewer_id": rev, "note": "no longer needed"})
	m := d.discover(t, "default")
	rf := postForm(t, m.Token, refreshForm(tokB.RefreshToken), rpB.conf.ClientID, rpB.conf.ClientSecret)
	if rf.Status != 200 {
		t.Fatalf("refresh after the review: %d %s", rf.Status, rf.Raw)
	}
	if got := strs(claimsOf(t, rf.str("access_token")), "app_roles"); got == nil || len(got) != 0 {
		t.Errorf("next token after the revocation has app_roles %v, want []", got)
	}
	reader.must(200, "POST", tp+"/authz/check", map[string]string{"user_id": ada, "permission": "b:admin"}).json(t, &dec)
	if dec.Allowed {
		t.Errorf("check after the revocation: %+v", dec)
	}

	// The report, for an auditor: JSON and CSV.
	out, _, _ = cli(t, d.env, "apikey", "create", "--tenant", "default", "--scopes", "audit:read")
	auditor := &client{t: t, base: d.base, token: lastLine(out)}
	var rep struct {
		Items []struct {
			Subject, Role, Decision, DecidedBy string
			DecidedAt                          time.Time `json:"decided_at"`
		} `json:"items"`
	}
	auditor.must(200, "GET", tp+"/reviews/"+camp.ID+"/report", nil).json(t, &rep)
	if len(rep.Items) != 1 || rep.Items[0].Decision != "revoke" || rep.Items[0].Subject != adaEmail || rep.Items[0].DecidedAt.IsZero() {
		t.Errorf("JSON report: %+v", rep)
	}
	req, _ := http.NewRequest("GET", d.base+tp+"/reviews/"+camp.ID+"/report?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+auditor.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(recs) != 2 ||
		recs[1][6] != adaEmail || recs[1][7] != "revoke" || recs[1][8] != rev {
		t.Errorf("CSV report (%s): %q %v", res.Header.Get("Content-Type"), recs, err)
	}
	if r := auditor.do("GET", tp+"/reviews/"+camp.ID+"/report?format=xml", nil); r.Status != 400 {
		t.Errorf("report format xml: %d", r.Status)
	}
}
