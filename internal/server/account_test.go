package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

const (
	adaPW = "correct horse battery"
	bobPW = "another long passphrase"
)

// accountFixture is a tenant with branding, a profile attribute, a client
// and two users, Ada and Bob.
type accountFixture struct {
	ta       *testApp
	tn       *store.Tenant
	ada, bob *store.User
	client   *store.Client
}

func newAccountFixture(t *testing.T, be backend) *accountFixture {
	ta := newTestApp(t, be)
	tn := ta.tenant("acme")
	tn, err := ta.Tenants.UpdateTenant(context.Background(), testActor, tn.ID, 0, tenancy.TenantPatch{Settings: json.RawMessage(
		`{"profile_attributes":["company"],"branding":{"display_name":"Acme Shop","primary_color":"#ffcc00","support_email":"help@acme.example"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	return &accountFixture{ta: ta, tn: tn, ada: ta.userWithPassword(tn.ID, "ada@example.com", adaPW),
		bob: ta.userWithPassword(tn.ID, "bob@example.com", bobPW), client: ta.client(tn.ID, "Photo app")}
}

func (f *accountFixture) user(t *testing.T, id string) *store.User {
	t.Helper()
	u, err := f.ta.DB.Users().GetUser(context.Background(), f.tn.ID, id)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	return u
}

// grant gives client a consent and a refresh and access token of user.
func (f *accountFixture) grant(t *testing.T, u *store.User, sessionID, label string) (refreshHash []byte, accessID string) {
	t.Helper()
	ctx := context.Background()
	o := f.ta.DB.OAuth()
	if err := o.Consents().PutConsent(ctx, &store.Consent{Tenant: f.tn.ID, UserID: u.ID, ClientID: f.client.ID,
		Scopes: []string{"openid", "email"}}); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(label))
	exp := time.Now().Add(time.Hour)
	if err := o.Tokens().CreateRefreshToken(ctx, &store.RefreshToken{ID: "rt-" + label, Tenant: f.tn.ID, Hash: h[:],
		FamilyID: "fam-" + label, ClientID: f.client.ID, UserID: u.ID, SessionID: sessionID, Scopes: []string{"openid"},
		AuthTime: time.Now(), ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := o.Tokens().CreateAccessToken(ctx, &store.AccessToken{ID: "at-" + label, Tenant: f.tn.ID, FamilyID: "fam-" + label,
		ClientID: f.client.ID, UserID: u.ID, SessionID: sessionID, Scopes: []string{"openid"}, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	return h[:], "at-" + label
}

func (f *accountFixture) sessions(t *testing.T, u *store.User) []store.Session {
	t.Helper()
	ss, err := f.ta.Sessions.List(context.Background(), f.tn.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestAccountSignInAndLanguages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		p := b.get("/t/acme/account")
		if p.status != http.StatusFound || p.location() != "/t/acme/account/login?ui_locales=en" {
			t.Fatalf("signed out: %d %q, want a redirect to sign-in", p.status, p.location())
		}
		tok := b.csrf("/t/acme/account/login")
		p = b.post("/t/acme/account/login", form("csrf", tok, "identifier", "ada@example.com", "password", "wrong password!"))
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Incorrect email, username or password.") {
			t.Errorf("wrong password: %d", p.status)
		}
		p = b.post("/t/acme/account/login", form("csrf", tok, "identifier", "nobody@example.com", "password", "wrong password!"))
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Incorrect email, username or password.") {
			t.Errorf("unknown account: %d (must look like a wrong password)", p.status)
		}
		p = b.post("/t/acme/account/login", form("identifier", "ada@example.com", "password", adaPW))
		if p.status != http.StatusForbidden || len(f.sessions(t, f.ada)) != 0 {
			t.Errorf("sign-in without CSRF: %d, sessions %d", p.status, len(f.sessions(t, f.ada)))
		}
		b.signIn("acme", "ada@example.com", adaPW)
		p = b.get("/t/acme/account")
		for _, want := range []string{`<html lang="en">`, "Signed in as ada@example.com.", "Acme Shop", `href="/t/acme/branding.css"`,
			`mailto:help@acme.example`, `<label for="attr_company">Company</label>`, `name="viewport"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("account page lacks %s", want)
			}
		}
		// Every visible input has a label bound to it.
		labels := map[string]bool{}
		for _, m := range regexp.MustCompile(`<label for="([^"]+)"`).FindAllStringSubmatch(p.body, -1) {
			labels[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`<input ([^>]*)>`).FindAllStringSubmatch(p.body, -1) {
			attrs := m[1]
			if strings.Contains(attrs, `type="hidden"`) || strings.HasSuffix(attrs, " hidden") {
				continue
			}
			id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(attrs)
			if id == nil || !labels[id[1]] {
				t.Errorf("input without a label: <input %s>", attrs)
			}
		}
		// The language follows ui_locales, then Accept-Language.
		b.lang = "de-DE,de;q=0.9"
		if p = b.get("/t/acme/account"); !strings.Contains(p.body, `<html lang="de">`) || !strings.Contains(p.body, "Ihr Konto") ||
			!strings.Contains(p.body, "Passwort ändern") {
			t.Errorf("German page: %.300s", p.body)
		}
		if p = b.get("/t/acme/account?ui_locales=es"); !strings.Contains(p.body, `<html lang="es">`) || !strings.Contains(p.body, "Su cuenta") {
			t.Errorf("Spanish page: %.300s", p.body)
		}
		// The branding stylesheet carries the colour, darkened to 4.5:1.
		css := b.get("/t/acme/branding.css")
		if css.status != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") ||
			!regexp.MustCompile(`^:root\{--brand:#[0-9a-f]{6}\}`).MatchString(css.body) || strings.Contains(css.body, "#ffcc00") {
			t.Errorf("branding.css: %d %q", css.status, css.body)
		}
	})
}

func TestAccountProfileAndCSRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		tok := b.csrf("/t/acme/account")
		before := f.user(t, f.ada.ID)

		for name, p := range map[string]page{
			"no token":     b.post("/t/acme/account/profile", form("given_name", "Mallory")),
			"wrong token":  b.post("/t/acme/account/profile", form("csrf", strings.Repeat("A", 43), "given_name", "Mallory")),
			"other origin": b.post("/t/acme/account/profile", form("csrf", tok, "given_name", "Mallory"), "Origin", "https://evil.example"),
		} {
			if p.status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, p.status)
			}
		}
		for name, fm := range map[string][]string{
			"unknown attribute": {"given_name", "Ada", "attr_role", "admin"},
			"control character": {"given_name", "Ada\x07"},
			"too long":          {"given_name", "Ada", "attr_company", strings.Repeat("x", 201)},
		} {
			if p := b.post("/t/acme/account/profile", form(append([]string{"csrf", tok}, fm...)...)); p.status != http.StatusBadRequest ||
				!strings.Contains(p.body, "Check the fields") {
				t.Errorf("%s: %d, want 400 with a message", name, p.status)
			}
		}
		if after := f.user(t, f.ada.ID); after.Version != before.Version {
			t.Fatalf("refused forms changed the user: version %d -> %d", before.Version, after.Version)
		}
		p := b.post("/t/acme/account/profile", form("csrf", tok, "given_name", " Ada ", "family_name", "Lovelace", "attr_company", "Analytical Engines"))
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "done=profile") {
			t.Fatalf("profile: %d %q", p.status, p.location())
		}
		u := f.user(t, f.ada.ID)
		var attrs map[string]any
		_ = json.Unmarshal(u.Attributes, &attrs)
		if u.GivenName != "Ada" || u.FamilyName != "Lovelace" || attrs["company"] != "Analytical Engines" {
			t.Errorf("stored %q %q %v", u.GivenName, u.FamilyName, attrs)
		}
		if p = b.get(p.location()); !strings.Contains(p.body, "Your profile has been saved.") || !strings.Contains(p.body, `value="Analytical Engines"`) {
			t.Errorf("notice or value missing after save")
		}
		// Emptying an attribute removes it.
		b.post("/t/acme/account/profile", form("csrf", tok, "given_name", "Ada", "attr_company", ""))
		if u = f.user(t, f.ada.ID); strings.Contains(string(u.Attributes), "company") {
			t.Errorf("attribute not removed: %s", u.Attributes)
		}
		if got := f.ta.userAuditActions(f.tn.ID); got["user.update"] != 2 {
			t.Errorf("audit by the user: %v, want 2 user.update", got)
		}
	})
}

func TestAccountSessionsAndApps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b1, b2, bob := f.ta.browser(), f.ta.browser(), f.ta.browser()
		b1.signIn("acme", "ada@example.com", adaPW)
		b2.signIn("acme", "ada@example.com", adaPW)
		bob.signIn("acme", "bob@example.com", bobPW)
		tok := b1.csrf("/t/acme/account")
		ada := f.sessions(t, f.ada)
		bobs := f.sessions(t, f.bob)
		if len(ada) != 2 || len(bobs) != 1 {
			t.Fatalf("sessions: ada %d, bob %d", len(ada), len(bobs))
		}
		page := b1.get("/t/acme/account")
		if strings.Count(page.body, `name="session_id"`) != 1 || !strings.Contains(page.body, "This device") {
			t.Errorf("the page should offer to end exactly the other device")
		}
		// Another user's session, an unknown id: not found, nothing ends.
		for _, id := range []string{bobs[0].ID, "no-such-session", strings.Repeat("9", 100)} {
			if p := b1.post("/t/acme/account/sessions/end", form("csrf", tok, "session_id", id)); p.status != http.StatusNotFound {
				t.Errorf("end %q: %d, want 404", id, p.status)
			}
		}
		if len(f.sessions(t, f.bob)) != 1 || bob.get("/t/acme/account").status != http.StatusOK {
			t.Fatal("Bob's session ended through Ada's page")
		}
		// The one session the page offers to end is b2's.
		m := regexp.MustCompile(`name="session_id" value="([^"]+)"`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatal("no session to end on the page")
		}
		other := m[1]
		if p := b1.post("/t/acme/account/sessions/end", form("csrf", tok, "session_id", other)); p.status != http.StatusSeeOther {
			t.Fatalf("end other session: %d", p.status)
		}
		if p := b2.get("/t/acme/account"); p.status != http.StatusFound {
			t.Errorf("the ended device still sees the page: %d", p.status)
		}
		if p := b1.get("/t/acme/account"); p.status != http.StatusOK {
			t.Errorf("this device was signed out: %d", p.status)
		}

		// Apps: Ada's grant is listed and revoked with its tokens; Bob's stays.
		rtAda, atAda := f.grant(t, f.ada, f.sessions(t, f.ada)[0].ID, "ada")
		rtBob, atBob := f.grant(t, f.bob, bobs[0].ID, "bob")
		if p := b1.get("/t/acme/account"); !strings.Contains(p.body, "Photo app") || !strings.Contains(p.body, "See your email address") {
			t.Errorf("granted app not listed")
		}
		for _, id := range []string{"unknown-client", strings.Repeat("c", 200)} {
			if p := b1.post("/t/acme/account/apps/revoke", form("csrf", tok, "client_id", id)); p.status != http.StatusNotFound {
				t.Errorf("revoke %q: %d, want 404", id, p.status)
			}
		}
		if p := b1.post("/t/acme/account/apps/revoke", form("client_id", f.client.ID)); p.status != http.StatusForbidden {
			t.Errorf("revoke without CSRF: %d", p.status)
		}
		if p := b1.post("/t/acme/account/apps/revoke", form("csrf", tok, "client_id", f.client.ID)); p.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", p.status)
		}
		ctx := context.Background()
		o := f.ta.DB.OAuth()
		if _, err := o.Consents().GetConsent(ctx, f.tn.ID, f.ada.ID, f.client.ID); err == nil {
			t.Error("consent survived")
		}
		if rt, _ := o.Tokens().GetRefreshToken(ctx, f.tn.ID, rtAda); rt == nil || rt.RevokedAt == nil {
			t.Error("Ada's refresh token not revoked")
		}
		if at, _ := o.Tokens().GetAccessToken(ctx, f.tn.ID, atAda); at == nil || at.RevokedAt == nil {
			t.Error("Ada's access token not revoked")
		}
		if rt, _ := o.Tokens().GetRefreshToken(ctx, f.tn.ID, rtBob); rt == nil || rt.RevokedAt != nil {
			t.Error("Bob's refresh token revoked")
		}
		if at, _ := o.Tokens().GetAccessToken(ctx, f.tn.ID, atBob); at == nil || at.RevokedAt != nil {
			t.Error("Bob's access token revoked")
		}
		if got := f.ta.userAuditActions(f.tn.ID); got["session.end"] != 1 || got["consent.revoke"] != 1 {
			t.Errorf("audit: %v", got)
		}
	})
}
