package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	exchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAT        = "urn:ietf:params:oauth:token-type:access_token"
	typeIDT       = "urn:ietf:params:oauth:token-type:id_token"
	typeRT        = "urn:ietf:params:oauth:token-type:refresh_token"
	typeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// exchangeForm is an RFC 8693 request; actor is optional.
func exchangeForm(subject, subjectType, actor, actorType string, extra ...string) url.Values {
	f := url.Values{"grant_type": {exchangeGrant}, "subject_token": {subject}, "subject_token_type": {subjectType}}
	if actor != "" {
		f.Set("actor_token", actor)
		f.Set("actor_token_type", actorType)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Add(extra[i], extra[i+1])
	}
	return f
}

// service is a confidential client allowed to exchange tokens, with an
// access token of its own from x/oauth2's client credentials flow (the
// actor token of delegation).
type service struct {
	id, secret, own string
}

func newService(t *testing.T, d *deployment, m opMeta, name string) service {
	t.Helper()
	id, secret := registered(t, d.env, "default", "--name", name, "--grant", "client_credentials", "--grant", exchangeGrant)
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: m.Token}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials of %s: %v", name, err)
	}
	return service{id: id, secret: secret, own: tok.AccessToken}
}

// verifiedClaims verifies a JWT with the tenant's JWKS (go-jose) and
// answers its claims.
func verifiedClaims(t *testing.T, m opMeta, tok string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	set := jwks(t, m.JWKS)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("no key %q in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func actOf(c map[string]any) map[string]any { a, _ := c["act"].(map[string]any); return a }

// TestTokenExchange drives RFC 8693 through the real server on each
// backend: delegation through two services producing a nested act claim,
// impersonation, every subject token type we issue, the audience and
// actor policies, and the refusals of docs/SECURITY.md (wrong client,
// audience not allowed, actor not allowed, expired and revoked subject
// tokens, scope widening, a token of another tenant, a tampered token).
func TestTokenExchange(t *testing.T) {
	// It waits out a 60-second token lifetime, the shortest the product
	// allows: parallel, so the wait is not added to the sequential tests'
	// and overlaps the other test that waits (with -parallel 4, as make
	// test runs them).
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testTokenExchange(t, b)
		})
	}
}

func testTokenExchange(t *testing.T, b backend) {
	d := deploy(t, b)
	adaID := d.user(t, "default", adaEmail, adaPW)
	m := d.discover(t, "default")
	api := d.platform(t)

	// A token that will have expired by the end: its client's access
	// tokens live 60 s.
	short := d.rp(t, "default")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+short.conf.ClientID, map[string]any{"access_token_ttl": 60})
	shortTok := short.tokens(adaEmail, adaPW)
	shortAt := time.Now()

	app := d.rp(t, "default")
	tok := app.tokens(adaEmail, adaPW)
	t0 := tok.AccessToken
	idt, _ := tok.Extra("id_token").(string)
	svcB, svcC, svcD := newService(t, d, m, "Service B"), newService(t, d, m, "Service C"), newService(t, d, m, "Service D")
	if grants := stringsOf(get(t, nil, m.Issuer+"/.well-known/openid-configuration").Body["grant_types_supported"]); !slices.Contains(grants, exchangeGrant) {
		t.Errorf("grant_types_supported %v lacks token exchange", grants)
	}

	// Delegation, hop 1: B acts for ada.
	r1 := postForm(t, m.Token, exchangeForm(t0, typeAT, svcB.own, typeAT), svcB.id, svcB.secret)
	if r1.Status != 200 || r1.str("issued_token_type") != typeAT || r1.str("token_type") != "Bearer" {
		t.Fatalf("exchange by B: %d %s", r1.Status, r1.Raw)
	}
	t1 := r1.str("access_token")
	c1 := verifiedClaims(t, m, t1)
	if c1["sub"] != adaID || c1["client_id"] != svcB.id || !slices.Equal(stringsOf(c1["aud"]), []string{svcB.id}) {
		t.Errorf("hop 1 claims: %v", c1)
	}
	if a := actOf(c1); a["sub"] != svcB.id || a["client_id"] != svcB.id || a["act"] != nil {
		t.Errorf("hop 1 act: %v", a)
	}
	if got := strings.Fields(c1["scope"].(string)); slices.Contains(got, "offline_access") || !slices.Contains(got, "openid") {
		t.Errorf("hop 1 scope %v: the subject's without offline_access", got)
	}

	// Hop 2: C acts for ada through B: the act claim nests B under C.
	r2 := postForm(t, m.Token, exchangeForm(t1, typeAT, svcC.own, typeAT, "scope", "openid email"), svcC.id, svcC.secret)
	if r2.Status != 200 {
		t.Fatalf("exchange by C: %d %s", r2.Status, r2.Raw)
	}
	c2 := verifiedClaims(t, m, r2.str("access_token"))
	a2 := actOf(c2)
	if c2["sub"] != adaID || a2["sub"] != svcC.id || a2["client_id"] != svcC.id {
		t.Fatalf("hop 2: sub %v act %v", c2["sub"], a2)
	}
	if inner := actOf(a2); inner["sub"] != svcB.id || inner["client_id"] != svcB.id || inner["act"] != nil {
		t.Errorf("hop 2 nested act: %v", a2)
	}
	if c2["scope"] != "openid email" {
		t.Errorf("hop 2 scope %v, want the narrowed openid email", c2["scope"])
	}
	if in := introspect(t, m, r2.str("access_token"), svcC.id, svcC.secret); !active(in) || in.str("sub") != adaID {
		t.Errorf("introspection of the exchanged token: %s", in.Raw)
	}
	// The exchange is audited.
	var audit struct {
		Items []struct {
			Action string `json:"action"`
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
			Actor struct {
				ID string `json:"id"`
			} `json:"actor"`
		} `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/audit?action=token.exchange", nil).json(t, &audit)
	if len(audit.Items) < 2 || audit.Items[0].Action != "token.exchange" || audit.Items[0].Target.ID != adaID ||
		audit.Items[0].Actor.ID != svcB.id && audit.Items[0].Actor.ID != svcC.id {
		t.Errorf("audit of exchanges: %+v", audit.Items)
	}

	// Impersonation: no actor, no act.
	imp := postForm(t, m.Token, exchangeForm(t0, typeAT, "", ""), svcB.id, svcB.secret)
	if imp.Status != 200 || actOf(verifiedClaims(t, m, imp.str("access_token"))) != nil {
		t.Errorf("impersonation: %d %s", imp.Status, imp.Raw)
	}
	// A DPoP-bound subject token is exchanged only with a proof by its key.
	pub := d.rp(t, "default", "--public")
	k := newDPoPKey(t, jose.ES256)
	g := pub.code(adaEmail, adaPW)
	bt := dpopPost(t, m.Token, pub.exchangeForm(g.code, g.verifier), pub.conf.ClientID, "", k.proof("POST", m.Token, "", proofOpts{}))
	if bt.Status != 200 || bt.str("token_type") != "DPoP" {
		t.Fatalf("bound subject token: %d %s", bt.Status, bt.Raw)
	}
	wantErr(t, "bound subject without a proof", postForm(t, m.Token, exchangeForm(bt.str("access_token"), typeAT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")
	wantErr(t, "bound subject with another key", dpopPost(t, m.Token, exchangeForm(bt.str("access_token"), typeAT, "", ""), svcB.id, svcB.secret,
		newDPoPKey(t, jose.ES256).proof("POST", m.Token, "", proofOpts{})), 400, "invalid_grant")
	if r := dpopPost(t, m.Token, exchangeForm(bt.str("access_token"), typeAT, "", ""), svcB.id, svcB.secret,
		k.proof("POST", m.Token, "", proofOpts{})); r.Status != 200 || r.str("token_type") != "DPoP" || cnfOf(t, r.str("access_token")) != k.jkt() {
		t.Errorf("bound subject with its key's proof: %d %s", r.Status, r.Raw)
	}

	// Other subject token types: an ID token (openid only), a refresh
	// token (its scopes), our access token as a JWT.
	if r := postForm(t, m.Token, exchangeForm(idt, typeIDT, "", ""), svcB.id, svcB.secret); r.Status != 200 || r.str("scope") != "openid" {
		t.Errorf("ID token subject: %d %s", r.Status, r.Raw)
	}
	if r := postForm(t, m.Token, exchangeForm(tok.RefreshToken, typeRT, "", ""), svcB.id, svcB.secret); r.Status != 200 ||
		verifiedClaims(t, m, r.str("access_token"))["sub"] != adaID {
		t.Errorf("refresh token subject: %d %s", r.Status, r.Raw)
	}
	if r := postForm(t, m.Token, exchangeForm(t0, typeJWT, "", ""), svcB.id, svcB.secret); r.Status != 200 {
		t.Errorf("access token as jwt subject: %d %s", r.Status, r.Raw)
	}

	// Audiences: refused until the policy lists them.
	aud := "https://api.example.com/orders"
	wantErr(t, "audience not allowed", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "audience", aud), svcB.id, svcB.secret),
		400, "invalid_target")
	wantErr(t, "resource not allowed", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "resource", aud), svcB.id, svcB.secret),
		400, "invalid_target")
	wantErr(t, "another client as audience", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "audience", svcC.id), svcB.id, svcB.secret),
		400, "invalid_target")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+svcB.id, map[string]any{"token_exchange": map[string]any{"audiences": []string{aud}}})
	if r := postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "resource", aud), svcB.id, svcB.secret); r.Status != 200 ||
		!slices.Equal(stringsOf(verifiedClaims(t, m, r.str("access_token"))["aud"]), []string{aud}) {
		t.Errorf("allowed resource: %d %s", r.Status, r.Raw)
	}

	// Actors: D's token is not C's to present, until C accepts D.
	wantErr(t, "actor not allowed", postForm(t, m.Token, exchangeForm(t1, typeAT, svcD.own, typeAT), svcC.id, svcC.secret), 400, "invalid_grant")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+svcC.id, map[string]any{"token_exchange": map[string]any{"actors": []string{svcD.id}}})
	if r := postForm(t, m.Token, exchangeForm(t1, typeAT, svcD.own, typeAT), svcC.id, svcC.secret); r.Status != 200 ||
		actOf(verifiedClaims(t, m, r.str("access_token")))["sub"] != svcD.id {
		t.Errorf("accepted actor: %d %s", r.Status, r.Raw)
	}

	// Refusals.
	wantErr(t, "client without the grant", postForm(t, m.Token, exchangeForm(t0, typeAT, "", ""), app.conf.ClientID, app.conf.ClientSecret),
		400, "unauthorized_client")
	wantErr(t, "scope widening", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "scope", "openid phone"), svcB.id, svcB.secret),
		400, "invalid_scope")
	wantErr(t, "scope widening from a narrowed token", postForm(t, m.Token, exchangeForm(r2.str("access_token"), typeAT, "", "", "scope", "openid profile"),
		svcB.id, svcB.secret), 400, "invalid_scope")
	wantErr(t, "offline_access", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "scope", "offline_access"), svcB.id, svcB.secret),
		400, "invalid_scope")
	wantErr(t, "ID token as access token", postForm(t, m.Token, exchangeForm(idt, typeAT, "", ""), svcB.id, svcB.secret), 400, "invalid_grant")
	wantErr(t, "access token as ID token", postForm(t, m.Token, exchangeForm(t0, typeIDT, "", ""), svcB.id, svcB.secret), 400, "invalid_grant")
	wantErr(t, "client's own token as subject", postForm(t, m.Token, exchangeForm(svcB.own, typeAT, "", ""), svcB.id, svcB.secret), 400, "invalid_grant")
	wantErr(t, "tampered subject", postForm(t, m.Token, exchangeForm(t0[:len(t0)-4]+"AAAA", typeAT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")
	wantErr(t, "garbage subject", postForm(t, m.Token, exchangeForm("not-a-token", typeJWT, "", ""), svcB.id, svcB.secret), 400, "invalid_grant")
	wantErr(t, "refresh token requested", postForm(t, m.Token, exchangeForm(t0, typeAT, "", "", "requested_token_type", typeRT),
		svcB.id, svcB.secret), 400, "invalid_request")
	f := exchangeForm(t0, typeAT, "", "")
	f.Set("actor_token", svcB.own)
	wantErr(t, "actor_token without its type", postForm(t, m.Token, f, svcB.id, svcB.secret), 400, "invalid_request")

	// A token of another tenant.
	d.tenant(t, "other")
	d.user(t, "other", adaEmail, adaPW)
	foreign := d.rp(t, "other").tokens(adaEmail, adaPW)
	wantErr(t, "subject of another tenant", postForm(t, m.Token, exchangeForm(foreign.AccessToken, typeAT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")

	// A JWT of a trusted upstream issuer: tenant corp is an OpenID Connect
	// connection of default, and ada's corp account is linked to a user of
	// default (by an import); corp's ID token names that user.
	upstreamJWT(t, d, m, svcB)
	wantErr(t, "JWT of an issuer that is no connection", postForm(t, m.Token, exchangeForm(foreign.Extra("id_token").(string), typeJWT, "", ""),
		svcB.id, svcB.secret), 400, "invalid_grant")

	// Revoked: the subject access token and a rotated refresh token.
	if res := postForm(t, m.Revocation, url.Values{"token": {t0}}, app.conf.ClientID, app.conf.ClientSecret); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Raw)
	}
	wantErr(t, "revoked subject", postForm(t, m.Token, exchangeForm(t0, typeAT, "", ""), svcB.id, svcB.secret), 400, "invalid_grant")
	if res := postForm(t, m.Token, refreshForm(tok.RefreshToken), app.conf.ClientID, app.conf.ClientSecret); res.Status != 200 {
		t.Fatalf("refresh: %d %s", res.Status, res.Raw)
	}
	wantErr(t, "rotated refresh token", postForm(t, m.Token, exchangeForm(tok.RefreshToken, typeRT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")

	// Expired: the 60 s token, once its minute is over.
	time.Sleep(time.Until(shortAt.Add(62 * time.Second)))
	wantErr(t, "expired subject", postForm(t, m.Token, exchangeForm(shortTok.AccessToken, typeAT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")

	// An ID token outlives nothing: once ada's sessions end, the ID token
	// of one of them is refused although unexpired.
	if r := postForm(t, m.Token, exchangeForm(idt, typeIDT, "", ""), svcB.id, svcB.secret); r.Status != 200 {
		t.Fatalf("ID token before the session ended: %d %s", r.Status, r.Raw)
	}
	api.must(204, "DELETE", "/api/v1/tenants/default/users/"+adaID+"/sessions", nil)
	wantErr(t, "ID token of an ended session", postForm(t, m.Token, exchangeForm(idt, typeIDT, "", ""), svcB.id, svcB.secret),
		400, "invalid_grant")
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// upstreamJWT: a JWT of an upstream connection's issuer as the subject.
func upstreamJWT(t *testing.T, d *deployment, m opMeta, svc service) {
	t.Helper()
	api := d.platform(t)
	d.tenant(t, "corp")
	corpAda := d.user(t, "corp", "ada@corp.example", adaPW)
	up := d.rp(t, "corp")
	api.must(201, "POST", "/api/v1/tenants/default/connections", map[string]any{"type": "oidc", "name": "corp",
		"display_name": "Corp SSO", "issuer": d.base + "/t/corp", "client_id": up.conf.ClientID, "client_secret": up.conf.ClientSecret,
		"scopes": []string{"openid", "email", "profile"}})
	file := filepath.Join(t.TempDir(), "linked.jsonl")
	line := `{"email":"ada.linked@example.com","email_verified":true,"identities":[{"connection":"corp","subject":"` + corpAda + `"}]}`
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, d.env, "users", "import", "--tenant", "default", "--format", "jsonl", file); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	var users struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/users?email=ada.linked@example.com", nil).json(t, &users)
	if len(users.Items) != 1 {
		t.Fatalf("imported user: %+v", users)
	}
	corpTok := up.tokens("ada@corp.example", adaPW)
	idt, _ := corpTok.Extra("id_token").(string)
	// The imported user never signed in to default: the exchange counts
	// them active this month (MAU), as an authentication on their behalf.
	var before, after struct{ MAU int }
	api.must(200, "GET", "/api/v1/tenants/default/usage", nil).json(t, &before)
	r := postForm(t, m.Token, exchangeForm(idt, typeJWT, svc.own, typeAT), svc.id, svc.secret)
	if r.Status != 200 {
		t.Fatalf("upstream JWT subject: %d %s", r.Status, r.Raw)
	}
	api.must(200, "GET", "/api/v1/tenants/default/usage", nil).json(t, &after)
	if after.MAU != before.MAU+1 {
		t.Errorf("MAU %d before the exchange, %d after; want one more", before.MAU, after.MAU)
	}
	c := verifiedClaims(t, m, r.str("access_token"))
	if c["sub"] != users.Items[0].ID || c["iss"] != m.Issuer || actOf(c)["sub"] != svc.id {
		t.Errorf("upstream JWT exchanged: %v (want sub %s)", c, users.Items[0].ID)
	}
	// An upstream token is accepted only as a jwt, and an unlinked subject not at all.
	wantErr(t, "upstream JWT as access token", postForm(t, m.Token, exchangeForm(idt, typeAT, "", ""), svc.id, svc.secret), 400, "invalid_grant")
	d.user(t, "corp", "bob@corp.example", adaPW)
	bobTok, _ := rpFor(t, d.base, "corp", up.conf.ClientID, up.conf.ClientSecret, up.redirect).consentedTokens("bob@corp.example", adaPW)
	wantErr(t, "upstream JWT of an unlinked subject", postForm(t, m.Token, exchangeForm(bobTok.Extra("id_token").(string), typeJWT, "", ""),
		svc.id, svc.secret), 400, "invalid_grant")
}
