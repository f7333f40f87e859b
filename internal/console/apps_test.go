package console_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	secretRE   = regexp.MustCompile(`id="client-secret" type="text" readonly value="([^"]+)"`)
	clientIDRE = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
)

// TestAppWizard: the wizard registers a client of each kind with that
// kind's settings, shows the issuer, endpoints and snippets, the secret
// once (not on a later visit), refuses bad input inline with nothing
// stored, rotates the secret (the old one no longer verifies), audits
// everything with the console user as actor, and is closed to viewers.
func TestAppWizard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		viewer := e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
		tn := e.tenant("default")
		ctx := context.Background()
		b, csrf := signedIn(t, e, admin)

		p := b.get("/admin/apps/new")
		for _, k := range []string{"web", "spa", "native", "m2m", "device"} {
			if !strings.Contains(p.body, `id="kind-`+k+`"`) {
				t.Fatalf("wizard lacks kind %s:\n%s", k, p.body)
			}
		}
		p = b.get("/admin/apps/new?kind=web")
		if p.status != http.StatusOK || !strings.Contains(p.body, `<code id="issuer">`+e.url+`/t/default</code>`) ||
			!strings.Contains(p.body, e.url+"/t/default/oauth/token") {
			t.Fatalf("web form: %d, no issuer or token endpoint\n%s", p.status, p.body)
		}
		if p := b.get("/admin/apps/new?kind=bogus"); p.status != http.StatusNotFound {
			t.Fatalf("unknown kind: %d", p.status)
		}

		before, _ := e.Clients.ListClients(ctx, tn.ID, store.Page{Limit: 100})
		// A redirect URI the API refuses: shown beside the field, nothing stored.
		p = b.post("/admin/apps", form("csrf", csrf, "kind", "web", "name", "Shop", "redirect_uris", "javascript:alert(1)"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="redirect-err"`) || !strings.Contains(p.body, "javascript:alert(1)") {
			t.Fatalf("bad redirect: %d\n%s", p.status, p.body)
		}
		if after, _ := e.Clients.ListClients(ctx, tn.ID, store.Page{Limit: 100}); len(after) != len(before) {
			t.Fatal("a refused client was stored")
		}

		p = b.post("/admin/apps", form("csrf", csrf, "kind", "web", "name", "Shop", "redirect_uris", "https://shop.example.com/callback\n\n"))
		sm, im := secretRE.FindStringSubmatch(p.body), clientIDRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || sm == nil || im == nil || !strings.HasPrefix(sm[1], oauthclient.SecretPrefix) {
			t.Fatalf("create web app: %d\n%s", p.status, p.body)
		}
		id, secret := im[1], sm[1]
		cl, err := e.Clients.GetClient(ctx, tn.ID, id)
		if err != nil || cl.Public || cl.AuthMethod != "client_secret_basic" || len(cl.RedirectURIs) != 1 ||
			!oauthclient.VerifySecret(cl, secret) {
			t.Fatalf("stored client %+v, %v", cl, err)
		}
		for _, want := range []string{"golang.org/x/oauth2", "openid-client", "spring:", html.EscapeString(`"` + id + `"`), "GATEHOUSE_CLIENT_SECRET"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("created page lacks %q", want)
			}
		}
		// Opened later: no secret.
		p = b.get("/admin/apps/oidc/" + id)
		if p.status != http.StatusOK || strings.Contains(p.body, secret) || secretRE.MatchString(p.body) {
			t.Fatalf("client page: %d, shows a secret", p.status)
		}
		if p := b.get("/admin/apps"); !strings.Contains(p.body, "/admin/apps/oidc/"+id) {
			t.Fatal("the list lacks the new client")
		}
		// Rotation: a new secret, once; the old one stops matching.
		p = b.post("/admin/apps/oidc/"+id+"/secret", form("csrf", csrf))
		sm = secretRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || sm == nil || sm[1] == secret {
			t.Fatalf("rotate: %d", p.status)
		}
		cl, _ = e.Clients.GetClient(ctx, tn.ID, id)
		if oauthclient.VerifySecret(cl, secret) || !oauthclient.VerifySecret(cl, sm[1]) {
			t.Fatal("after rotation the old secret still matches or the new one does not")
		}
		// Each kind's registration.
		for kind, want := range map[string]struct {
			public bool
			grant  string
		}{"spa": {true, "authorization_code"}, "native": {true, "authorization_code"}, "m2m": {false, "client_credentials"},
			"device": {true, "urn:ietf:params:oauth:grant-type:device_code"}} {
			f := form("csrf", csrf, "kind", kind, "name", "App "+kind)
			if kind == "spa" {
				f.Set("redirect_uris", "https://spa.example.com/")
			}
			if kind == "native" {
				f.Set("redirect_uris", "http://127.0.0.1/callback")
			}
			p := b.post("/admin/apps", f)
			im := clientIDRE.FindStringSubmatch(p.body)
			if p.status != http.StatusOK || im == nil {
				t.Fatalf("create %s: %d\n%s", kind, p.status, p.body)
			}
			cl, err := e.Clients.GetClient(ctx, tn.ID, im[1])
			if err != nil || cl.Public != want.public || cl.GrantTypes[0] != want.grant || secretRE.MatchString(p.body) == want.public {
				t.Fatalf("%s client %+v, %v (secret shown: %v)", kind, cl, err, secretRE.MatchString(p.body))
			}
			label := map[string]string{"spa": "Single-page application", "native": "Native application",
				"m2m": "Machine to machine", "device": "Device"}[kind]
			if p := b.get("/admin/apps/oidc/" + im[1]); !strings.Contains(p.body, "<dd>"+label+"</dd>") {
				t.Fatalf("%s page does not name its kind %q", kind, label)
			}
		}
		// Audited with the console user as actor.
		es, err := e.DB.Audit().ListAudit(ctx, tn.ID, store.AuditQuery{TargetID: id, Limit: 10})
		if err != nil || len(es) != 2 || es[0].ActorID != admin.ID || es[1].ActorID != admin.ID {
			t.Fatalf("audit of the client: %+v, %v", es, err)
		}

		// A viewer lists but cannot create or rotate.
		vb, vcsrf := signedIn(t, e, viewer)
		if p := vb.get("/admin/apps"); p.status != http.StatusOK || strings.Contains(p.body, `id="new-oidc"`) {
			t.Fatalf("viewer list: %d", p.status)
		}
		if p := vb.get("/admin/apps/new?kind=web"); p.status != http.StatusForbidden {
			t.Fatalf("viewer form: %d", p.status)
		}
		if p := vb.post("/admin/apps/oidc/"+id+"/secret", form("csrf", vcsrf)); p.status != http.StatusForbidden {
			t.Fatalf("viewer rotate: %d", p.status)
		}
	})
}

// spMetadata is a crewjam/saml service provider's metadata document.
func spMetadata(t *testing.T, entity string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	u := func(s string) url.URL { p, _ := url.Parse(s); return *p }
	sp := &crewjam.ServiceProvider{EntityID: entity, Key: key, Certificate: cert,
		MetadataURL: u(entity), AcsURL: u("https://sp.example.com/saml/acs")}
	b, err := xml.Marshal(sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSAMLFromMetadata: a provider registers from its metadata URL
// (fetched through the safe client), from pasted metadata, or from
// fields; a private address, an error status and a non-https URL are
// refused inline with nothing stored; the pages show the IdP metadata URL
// and certificate.
func TestSAMLFromMetadata(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		tn := e.tenant("default")
		ctx := context.Background()
		b, csrf := signedIn(t, e, admin)
		md := spMetadata(t, "https://sp.example.com/saml/metadata")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metadata" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/samlmetadata+xml")
			w.Write([]byte(md))
		}))
		defer srv.Close()

		p := b.get("/admin/apps/saml/new")
		if p.status != http.StatusOK || !strings.Contains(p.body, e.url+"/t/default/saml/metadata") || !strings.Contains(p.body, "BEGIN CERTIFICATE") {
			t.Fatalf("SAML form: %d, no IdP metadata URL or certificate\n%s", p.status, p.body)
		}
		for name, c := range map[string]struct{ url, want string }{
			"private address": {"http://10.255.255.1/metadata", "refused"},
			"not found":       {srv.URL + "/nope", "HTTP 404"},
			"not a URL":       {"ftp://sp.example.com/md", "https://"},
		} {
			p := b.post("/admin/apps/saml", form("csrf", csrf, "name", "SP", "metadata_url", c.url))
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, c.want) {
				t.Errorf("%s: %d, want 400 saying %q\n%s", name, p.status, c.want, p.body)
			}
		}
		if sps, _ := e.SAMLSPs.List(ctx, tn.ID, store.Page{Limit: 10}); len(sps) != 0 {
			t.Fatalf("refused providers were stored: %+v", sps)
		}

		p = b.post("/admin/apps/saml", form("csrf", csrf, "name", "Wiki", "metadata_url", srv.URL+"/metadata"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/apps/saml/") {
			t.Fatalf("from metadata URL: %d %s\n%s", p.status, p.location(), p.body)
		}
		p = b.get(p.location())
		if p.status != http.StatusOK || !strings.Contains(p.body, `<code id="sp-entity-id">https://sp.example.com/saml/metadata</code>`) ||
			!strings.Contains(p.body, "https://sp.example.com/saml/acs") || !strings.Contains(p.body, `id="idp-metadata-url"`) {
			t.Fatalf("provider page: %d\n%s", p.status, p.body)
		}
		// The same entity again (pasted this time) is a conflict, inline.
		p = b.post("/admin/apps/saml", form("csrf", csrf, "name", "Wiki 2", "metadata", md))
		if p.status != http.StatusBadRequest {
			t.Fatalf("duplicate entity: %d", p.status)
		}
		// From fields.
		p = b.post("/admin/apps/saml", form("csrf", csrf, "name", "Intranet", "entity_id", "urn:intranet",
			"acs_url", "https://intranet.example.com/acs"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("from fields: %d\n%s", p.status, p.body)
		}
		sps, _ := e.SAMLSPs.List(ctx, tn.ID, store.Page{Limit: 10})
		if len(sps) != 2 {
			t.Fatalf("providers: %+v", sps)
		}
		es, err := e.DB.Audit().ListAudit(ctx, tn.ID, store.AuditQuery{ActorID: admin.ID, Limit: 10})
		if err != nil || len(es) < 2 {
			t.Fatalf("audit: %d entries by the console user, %v", len(es), err)
		}
	})
}
