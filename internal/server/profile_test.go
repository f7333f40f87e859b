package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// profileSchemaDoc is the schema the profile tests put: company asked
// from the second sign-in on (skippable once), tier an enum asked when a
// login requests the tier scope (and mapped into tokens only then).
var profileSchemaDoc = map[string]any{"fields": []map[string]any{
	{"name": "company", "type": "string", "label": map[string]string{"en": "Company", "de": "Firma", "es": "Empresa"},
		"required_at": "login:2", "pii": true, "user_editable": true, "max_length": 80, "autocomplete": "organization"},
	{"name": "tier", "type": "enum", "enum": []string{"gold", "silver"}, "label": map[string]string{"en": "Tier", "de": "Stufe"},
		"required_at": "scope:tier", "user_editable": true, "claim_scope": "tier"},
}}

// putProfileSchema puts doc as tenant slug's schema with an admin key.
func (ta *testApp) putProfileSchema(tn *store.Tenant, doc any) *response {
	ta.t.Helper()
	return ta.do(request{method: http.MethodPut, path: "/api/v1/tenants/" + tn.Slug + "/profile-schema",
		auth: "Bearer " + ta.key(tn.ID, "admin"), body: doc})
}

// problemField answers the first field a problem+json answer names.
func problemField(t *testing.T, r *response) string {
	t.Helper()
	p := r.problem(t)
	errs, _ := p["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("problem names no field: %s", r)
	}
	f, _ := errs[0].(map[string]any)["field"].(string)
	return f
}

// TestProfileSchemaAPI: PUT validates strictly and names the offending
// field; GET answers what was stored; the change is audited.
func TestProfileSchemaAPI(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("acme")
	read := "Bearer " + ta.key(tn.ID, "read")
	if r := ta.get("/api/v1/tenants/acme/profile-schema", ta.key(tn.ID, "read")); r.status != http.StatusOK ||
		strings.TrimSpace(string(r.body)) != `{"fields":[]}` {
		t.Fatalf("GET without a schema: %s", r)
	}
	bad := map[string]any{"fields": []map[string]any{
		{"name": "a", "type": "string", "label": map[string]string{"en": "A"}},
		{"name": "b", "type": "bool", "label": map[string]string{"en": "B"}},
		{"name": "c", "type": "colour", "label": map[string]string{"en": "C"}},
	}}
	if r := ta.putProfileSchema(tn, bad); r.status != http.StatusBadRequest || problemField(t, r) != "fields[2].type" {
		t.Fatalf("PUT with a bad type: %s", r)
	}
	if r := ta.do(request{method: http.MethodPut, path: "/api/v1/tenants/acme/profile-schema", auth: read, body: profileSchemaDoc}); r.status != http.StatusForbidden {
		t.Errorf("PUT with a read key: %s", r)
	}
	if r := ta.putProfileSchema(tn, map[string]any{"fields": []any{}, "extra": 1}); r.status != http.StatusBadRequest {
		t.Errorf("PUT with an unknown key: %s", r)
	}
	if r := ta.get("/api/v1/tenants/acme/profile-schema", ta.key(tn.ID, "read")); strings.TrimSpace(string(r.body)) != `{"fields":[]}` {
		t.Fatalf("refused PUTs changed the schema: %s", r)
	}
	if r := ta.putProfileSchema(tn, profileSchemaDoc); r.status != http.StatusOK {
		t.Fatalf("PUT: %s", r)
	}
	r := ta.get("/api/v1/tenants/acme/profile-schema", ta.key(tn.ID, "read"))
	var got struct {
		Fields []struct {
			Name, Type, RequiredAt, Autocomplete string
			Label                                map[string]string
			Enum                                 []string
		} `json:"fields"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || len(got.Fields) != 2 || got.Fields[0].Label["de"] != "Firma" ||
		got.Fields[1].Type != "enum" || len(got.Fields[1].Enum) != 2 {
		t.Fatalf("GET: %s", r)
	}
	n := 0
	err := ta.DB.Audit().ScanAudit(context.Background(), tn.ID, func(e store.AuditEntry) error {
		if e.Action == "tenant.profile_schema" {
			n++
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("profile schema audit entries: %d %v", n, err)
	}
}

// TestProfileAskedAtSecondLogin: through the hosted pages, a field
// required at login:2 is not asked at the first sign-in, is asked (and
// may be skipped) at the second, is mandatory at the third, and once
// given is not asked again; a reused SSO session does not count as a
// sign-in.
func TestProfileAskedAtSecondLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		c := ta.client(tn.ID, "wiki")
		if r := ta.putProfileSchema(tn, profileSchemaDoc); r.status != http.StatusOK {
			t.Fatalf("PUT schema: %s", r)
		}
		const email, pw = "ada@example.com", "correct horse battery"
		u := ta.userWithPassword(tn.ID, email, pw)
		signIns := func() int {
			p, err := ta.DB.Profiles().GetProfileProgress(context.Background(), tn.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p.SignIns
		}

		// First sign-in: straight to the application.
		b := ta.browser()
		id := ta.authRequest(tn, c)
		if p := passwordStep(t, b, "acme", id, email, pw); p.status != http.StatusSeeOther || p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("first sign-in: %d %q", p.status, p.location())
		}
		// The same browser again: SSO reuse, not a sign-in.
		id = ta.authRequest(tn, c)
		if p := b.get("/t/acme/login?id=" + id); p.status != http.StatusFound || !strings.Contains(p.location(), "/authorize/callback") {
			t.Fatalf("SSO reuse: %d %q", p.status, p.location())
		}
		if n := signIns(); n != 1 {
			t.Fatalf("sign-ins after one sign-in and one reuse: %d", n)
		}

		// Second sign-in: the profile page, company only, skippable.
		b = ta.browser()
		id = ta.authRequest(tn, c)
		p := passwordStep(t, b, "acme", id, email, pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/login/profile?id="+id || !hasSessionCookie(p) {
			t.Fatalf("second sign-in: %d %q", p.status, p.location())
		}
		page := b.get(p.location())
		if page.status != http.StatusOK || !strings.Contains(page.body, `name="f.company"`) || !strings.Contains(page.body, `autocomplete="organization"`) ||
			!strings.Contains(page.body, ">Company") || strings.Contains(page.body, `f.tier`) || !strings.Contains(page.body, `name="skip" type="checkbox" value="company"`) {
			t.Fatalf("profile page: %d\n%s", page.status, page.body)
		}
		if other := ta.browser().get(p.location()); other.status != http.StatusBadRequest {
			t.Errorf("profile page without the session: %d", other.status)
		}
		tok := csrfRE.FindStringSubmatch(page.body)[1]
		if p := b.post("/t/acme/login/profile", form("csrf", tok, "id", id, "skip", "company")); p.status != http.StatusSeeOther ||
			p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("skip: %d %q", p.status, p.location())
		}

		// Third sign-in: mandatory now (no skip box; skipping is refused).
		b = ta.browser()
		id = ta.authRequest(tn, c)
		if p := passwordStep(t, b, "acme", id, email, pw); p.location() != "/t/acme/login/profile?id="+id {
			t.Fatalf("third sign-in: %d %q", p.status, p.location())
		}
		page = b.get("/t/acme/login/profile?id=" + id)
		if strings.Contains(page.body, `name="skip"`) {
			t.Fatalf("a mandatory field offers a skip:\n%s", page.body)
		}
		tok = csrfRE.FindStringSubmatch(page.body)[1]
		if p := b.post("/t/acme/login/profile", form("csrf", tok, "id", id, "skip", "company")); p.status != http.StatusBadRequest ||
			!strings.Contains(p.body, `aria-invalid="true"`) {
			t.Fatalf("skipping a mandatory field: %d", p.status)
		}
		long := strings.Repeat("x", 81)
		if p := b.post("/t/acme/login/profile", form("csrf", tok, "id", id, "f.company", long)); p.status != http.StatusBadRequest {
			t.Fatalf("a value past max_length: %d", p.status)
		}
		if p := b.post("/t/acme/login/profile", form("csrf", tok, "id", id, "f.company", "Analytical Engines Ltd")); p.status != http.StatusSeeOther ||
			p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("answer: %d %q", p.status, p.location())
		}
		got, _ := ta.DB.Users().GetUser(context.Background(), tn.ID, u.ID)
		var attrs map[string]any
		_ = json.Unmarshal(got.Attributes, &attrs)
		if attrs["company"] != "Analytical Engines Ltd" {
			t.Fatalf("attributes after the answer: %s", got.Attributes)
		}

		// Fourth: nothing is due.
		id = ta.authRequest(tn, c)
		if p := passwordStep(t, ta.browser(), "acme", id, email, pw); p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("fourth sign-in: %d %q", p.status, p.location())
		}
		if n := signIns(); n != 4 {
			t.Errorf("sign-ins: %d, want 4", n)
		}
	})
}

// TestProfileEnumRefusedEverywhere: a value outside an enum field's
// values is refused, naming the field, by the management API (create and
// patch), SCIM, the account page and bulk import; a value inside it is
// stored.
func TestProfileEnumRefusedEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		if r := ta.putProfileSchema(tn, profileSchemaDoc); r.status != http.StatusOK {
			t.Fatalf("PUT schema: %s", r)
		}
		admin := "Bearer " + ta.key(tn.ID, "admin")
		users := "/api/v1/tenants/acme/users"

		// Management API.
		r := ta.do(request{method: http.MethodPost, path: users, auth: admin, body: map[string]any{
			"email": "bronze@example.com", "attributes": map[string]any{"tier": "bronze"}}})
		if r.status != http.StatusBadRequest || problemField(t, r) != "attributes.tier" {
			t.Fatalf("API create with a bad tier: %s", r)
		}
		r = ta.do(request{method: http.MethodPost, path: users, auth: admin, body: map[string]any{
			"email": "gold@example.com", "attributes": map[string]any{"tier": "gold"}}})
		if r.status != http.StatusCreated {
			t.Fatalf("API create with a good tier: %s", r)
		}
		var created struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r.body, &created)
		r = ta.do(request{method: http.MethodPatch, path: users + "/" + created.ID, auth: admin, body: map[string]any{
			"attributes": map[string]any{"tier": "bronze"}}})
		if r.status != http.StatusBadRequest || problemField(t, r) != "attributes.tier" {
			t.Fatalf("API patch with a bad tier: %s", r)
		}

		// SCIM, in SCIM's error format.
		scim := func(method, path string, body any) *response {
			return ta.do(request{method: method, path: "/t/acme/scim/v2" + path, auth: "Bearer " + ta.key(tn.ID, "scim"), body: body,
				header: map[string]string{"Content-Type": "application/scim+json"}})
		}
		const ext = "urn:gatehouse:params:scim:schemas:extension:profile:2.0:User"
		r = scim(http.MethodPost, "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", ext},
			"userName": "scim-bronze@example.com", ext: map[string]any{"tier": "bronze"}})
		var se struct {
			Schemas  []string `json:"schemas"`
			ScimType string   `json:"scimType"`
			Detail   string   `json:"detail"`
		}
		if r.status != http.StatusBadRequest || json.Unmarshal(r.body, &se) != nil || se.ScimType != "invalidValue" ||
			!strings.Contains(se.Detail, ext+":tier") || len(se.Schemas) == 0 || !strings.Contains(se.Schemas[0], "Error") {
			t.Fatalf("SCIM create with a bad tier: %s", r)
		}
		r = scim(http.MethodPost, "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", ext},
			"userName": "scim-silver@example.com", ext: map[string]any{"tier": "silver"}})
		var doc map[string]any
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &doc) != nil {
			t.Fatalf("SCIM create with a good tier: %s", r)
		}
		if prof, _ := doc[ext].(map[string]any); prof["tier"] != "silver" {
			t.Fatalf("SCIM user lacks the profile extension: %s", r.body)
		}

		// The account page.
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "page@example.com", pw)
		b := ta.browser()
		b.signIn("acme", "page@example.com", pw)
		acct := b.get("/t/acme/account")
		if !strings.Contains(acct.body, `name="attr_tier"`) || !strings.Contains(acct.body, `>Tier</label>`) {
			t.Fatalf("the account page does not offer the editable field")
		}
		tok := csrfRE.FindStringSubmatch(acct.body)[1]
		p := b.post("/t/acme/account/profile", form("csrf", tok, "given_name", "Page", "attr_tier", "bronze"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Tier: this value is not allowed here.") {
			t.Fatalf("account page with a bad tier: %d", p.status)
		}
		if p := b.post("/t/acme/account/profile", form("csrf", tok, "given_name", "Page", "attr_tier", "gold")); p.status != http.StatusSeeOther {
			t.Fatalf("account page with a good tier: %d %s", p.status, p.body)
		}

		// Bulk import: the record is refused with the field named.
		key := ta.key(tn.ID, "admin")
		file := `{"email":"imp-bronze@example.com","attributes":{"tier":"bronze"}}` + "\n" +
			`{"email":"imp-gold@example.com","attributes":{"tier":"gold"}}` + "\n"
		r = ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/imports", auth: "Bearer " + key,
			body: importUpload(map[string]string{"format": "jsonl"}, file)})
		if r.status != http.StatusAccepted {
			t.Fatalf("POST imports: %s", r)
		}
		job, res := ta.awaitImport(r.header.Get("Location"), key)
		if job.Counts["created"] != 1 || job.Counts["failed"] != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "attributes.tier") {
			t.Fatalf("import: %s", res)
		}
	})
}

// TestProfileClaimInIDToken: a schema field mapped by the client's
// claim_mappings reaches the ID token only when the token's scopes hold
// the field's claim_scope, through a real authorization code exchange
// (the tier scope also asks for the field first, on the profile page).
func TestProfileClaimInIDToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		if r := ta.putProfileSchema(tn, profileSchemaDoc); r.status != http.StatusOK {
			t.Fatalf("PUT schema: %s", r)
		}
		const email, pw = "ada@example.com", "correct horse battery"
		ta.userWithPassword(tn.ID, email, pw)
		c, secret, err := ta.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
			Name: "shop", RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"openid", "tier"},
			ClaimMappings: map[string]string{"customer_tier": "tier"}})
		if err != nil {
			t.Fatal(err)
		}
		conf := &oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: "https://app.example.com/cb",
			Endpoint: oauth2.Endpoint{AuthURL: ta.srv.URL + "/t/acme/authorize", TokenURL: ta.srv.URL + "/t/acme/oauth/token",
				AuthStyle: oauth2.AuthStyleInHeader}}
		idToken := func(scopes []string, answer string) map[string]any {
			t.Helper()
			conf.Scopes = scopes
			b := ta.browser()
			verifier := oauth2.GenerateVerifier()
			p := b.get(strings.TrimPrefix(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), ta.srv.URL))
			loginURL, err := url.Parse(p.location())
			if err != nil || !strings.HasPrefix(loginURL.Path, "/t/acme/login") {
				t.Fatalf("authorize: %d %q", p.status, p.location())
			}
			id := loginURL.Query().Get("id")
			p = passwordStep(t, b, "acme", id, email, pw)
			if strings.HasPrefix(p.location(), "/t/acme/login/profile") {
				page := b.get(p.location())
				if answer != "" && (!strings.Contains(page.body, "<select") || !strings.Contains(page.body, `<option value="gold">`)) {
					t.Fatalf("tier is not a select:\n%s", page.body)
				}
				// The second sign-in also asks for company (login:2): skipped.
				f := form("csrf", csrfRE.FindStringSubmatch(page.body)[1], "id", id, "f.tier", answer, "skip", "company")
				p = b.post("/t/acme/login/profile", f)
			}
			if !strings.Contains(p.location(), "/authorize/callback") {
				t.Fatalf("login: %d %q", p.status, p.location())
			}
			p = b.get(p.location())
			cb, err := url.Parse(p.location())
			if err != nil || cb.Query().Get("code") == "" {
				t.Fatalf("callback: %d %q", p.status, p.location())
			}
			tok, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			return jwtPayload(t, raw)
		}
		if claims := idToken([]string{"openid", "tier"}, "gold"); claims["customer_tier"] != "gold" {
			t.Fatalf("ID token with the tier scope: %v", claims)
		}
		if claims := idToken([]string{"openid"}, ""); claims["customer_tier"] != nil {
			t.Fatalf("ID token without the tier scope carries it: %v", claims)
		}
	})
}

// TestProfileSignUpAsksSignupFields: after a self-service sign-up (and the
// mailbox proof), the sign-in that follows asks only for the fields marked
// signup, not for those due at a later sign-in.
func TestProfileSignUpAsksSignupFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		c := ta.client(tn.ID, "shop")
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme", auth: "Bearer " + ta.key(tn.ID, "admin"),
			body: map[string]any{"settings": map[string]any{"self_service": map[string]any{"signup": "open"}}}}); r.status != http.StatusOK {
			t.Fatalf("patch settings: %s", r)
		}
		doc := map[string]any{"fields": append([]map[string]any{{"name": "country", "type": "string",
			"label": map[string]string{"en": "Country", "de": "Land"}, "required_at": "signup", "autocomplete": "country-name"}},
			profileSchemaDoc["fields"].([]map[string]any)...)}
		if r := ta.putProfileSchema(tn, doc); r.status != http.StatusOK {
			t.Fatalf("PUT schema: %s", r)
		}
		const email, pw = "new@example.com", "a shelf of cold lanterns"
		b := ta.browser()
		id := ta.authRequest(tn, c)
		tok := b.csrf("/t/acme/signup?id=" + id)
		if p := b.post("/t/acme/signup", form("csrf", tok, "id", id, "email", email, "password", pw)); p.status != http.StatusOK {
			t.Fatalf("sign-up: %d %s", p.status, p.body)
		}
		if p := b.followLink(ta.mailedLink(email, "/t/acme/verify")); p.status != http.StatusOK {
			t.Fatalf("verification: %d", p.status)
		}
		p := passwordStep(t, b, "acme", id, email, pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/login/profile?id="+id {
			t.Fatalf("first sign-in after sign-up: %d %q", p.status, p.location())
		}
		page := b.get(p.location())
		if !strings.Contains(page.body, `name="f.country"`) || strings.Contains(page.body, `name="f.company"`) ||
			strings.Contains(page.body, `name="f.tier"`) || strings.Contains(page.body, `name="skip"`) {
			t.Fatalf("sign-up profile page:\n%s", page.body)
		}
		p = b.post("/t/acme/login/profile", form("csrf", csrfRE.FindStringSubmatch(page.body)[1], "id", id, "f.country", "Ireland"))
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("answer: %d %q", p.status, p.location())
		}
	})
}
