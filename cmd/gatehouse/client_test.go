package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	clientSecretRE = regexp.MustCompile(`^gh_cs_[A-Za-z0-9_-]{43}$`)
	clientIDRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// createClientJSON runs client create --json and decodes stdout, which
// must be exactly one JSON object on one line.
func (d *deployment) createClientJSON(args ...string) (map[string]any, string) {
	d.t.Helper()
	out, errOut, code := d.run(append([]string{"client", "create", "--json"}, args...)...)
	if code != 0 {
		d.t.Fatalf("client create %q: exit %d\n%s", args, code, errOut)
	}
	var m map[string]any
	if ls := lines(out); len(ls) != 1 {
		d.t.Fatalf("client create %q: stdout is not one line:\n%s", args, out)
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		d.t.Fatalf("client create %q: stdout is not a JSON object (%v):\n%s", args, err, out)
	}
	return m, errOut
}

func TestClientCommands(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) { testClientCommands(t, be.db(t)) })
	}
}

func testClientCommands(t *testing.T, db string) {
	d := newDeployment(t, db)
	ctx := context.Background()
	d.must("tenant", "create", "--slug", "acme", "--name", "Acme")

	// Confidential: client_id and client_secret, the secret only on stdout.
	conf, errOut := d.createClientJSON("--tenant", "acme", "--name", "Web",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8400/cb")
	id, _ := conf["client_id"].(string)
	secret, _ := conf["client_secret"].(string)
	if !clientIDRE.MatchString(id) || !clientSecretRE.MatchString(secret) {
		t.Fatalf("client create: client_id %q, secret shape ok %v", id, clientSecretRE.MatchString(secret))
	}
	if strings.Contains(errOut, secret) {
		t.Error("client create: the secret is on stderr")
	}
	if uris, _ := conf["redirect_uris"].([]any); len(uris) != 2 || conf["public"] != false {
		t.Errorf("client create: %v", conf)
	}
	app := d.app()
	acme, err := app.Tenants.Resolve(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Clients.GetClient(ctx, acme.ID, id)
	if err != nil || !oauthclient.VerifySecret(c, secret) {
		t.Fatalf("the printed secret is not the stored client's: %v", err)
	}

	// Public: no secret at all.
	pub, _ := d.createClientJSON("--tenant", "acme", "--name", "Native", "--public",
		"--redirect-uri", "com.example.app:/cb", "--third-party",
		"--allowed-origin", "https://app.example.com", "--allowed-origin", "http://127.0.0.1:5173", "--id-token-alg", "ES256")
	if _, ok := pub["client_secret"]; ok || pub["public"] != true || pub["token_endpoint_auth_method"] != "none" ||
		pub["id_token_signed_response_alg"] != "ES256" ||
		pub["third_party"] != true || pub["has_secret"] != false || fmt.Sprint(pub["allowed_origins"]) != "[https://app.example.com http://127.0.0.1:5173]" ||
		pub["introspection"] != "own" {
		t.Errorf("client create --public: %v", pub)
	}

	// client_credentials alone needs no redirect URI.
	cc, _ := d.createClientJSON("--tenant", "acme", "--name", "Batch", "--grant", "client_credentials",
		"--introspection", "audience")
	ccID, _ := cc["client_id"].(string)
	if cc["introspection"] != "audience" || cc["id_token_signed_response_alg"] != "RS256" {
		t.Errorf("client create --introspection audience: %v", cc)
	}
	if s, _ := cc["client_secret"].(string); !clientSecretRE.MatchString(s) {
		t.Errorf("client_credentials client has no secret: %v", cc)
	}
	if g, _ := cc["grant_types"].([]any); len(g) != 1 || g[0] != "client_credentials" {
		t.Errorf("grant_types %v", cc["grant_types"])
	}

	// Without --json: client_id and client_secret lines.
	out := d.must("client", "create", "--tenant", "acme", "--name", "Plain", "--redirect-uri", "https://p.example.com/cb")
	if ls := lines(out); len(ls) != 2 || !strings.HasPrefix(ls[0], "client_id: ") ||
		!clientSecretRE.MatchString(strings.TrimPrefix(ls[1], "client_secret: ")) {
		t.Errorf("client create without --json:\n%s", out)
	}

	// Refusals name the field and store nothing.
	for _, args := range [][]string{
		{"--name", "NoURI"},
		{"--name", "Insecure", "--redirect-uri", "http://example.com/cb"},
		{"--name", "Frag", "--redirect-uri", "https://app.example.com/cb#x"},
		{"--name", "JS", "--redirect-uri", "javascript:alert(1)"},
	} {
		errOut := d.fails(1, append([]string{"client", "create", "--tenant", "acme"}, args...)...)
		if !strings.Contains(errOut, "redirect_uris") {
			t.Errorf("client create %q: %s", args, errOut)
		}
	}
	if errOut := d.fails(1, "client", "create", "--tenant", "acme", "--name", "PubCC", "--public", "--grant", "client_credentials"); !strings.Contains(errOut, "grant_types") {
		t.Errorf("public client_credentials: %s", errOut)
	}
	if errOut := d.fails(1, "client", "create", "--tenant", "acme", "--name", "Origin", "--grant", "client_credentials",
		"--allowed-origin", "https://app.example.com/path"); !strings.Contains(errOut, "allowed_origins") {
		t.Errorf("origin with a path: %s", errOut)
	}
	if errOut := d.fails(1, "client", "create", "--tenant", "acme", "--name", "RS", "--grant", "client_credentials",
		"--introspection", "everything"); !strings.Contains(errOut, "introspection") {
		t.Errorf("unknown introspection setting: %s", errOut)
	}
	d.fails(1, "client", "create", "--name", "NoTenant", "--grant", "client_credentials")
	d.fails(1, "client", "create", "--tenant", "nope", "--name", "X", "--grant", "client_credentials")
	d.fails(2, "client")
	d.fails(2, "client", "nope")

	// List: the four clients, never a secret.
	raw := d.must("client", "list", "--tenant", "acme", "--json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(raw), &listed); err != nil {
		t.Fatalf("client list --json: %v\n%s", err, raw)
	}
	var ids []string
	for _, c := range listed {
		ids = append(ids, c["client_id"].(string))
		if _, ok := c["client_secret"]; ok {
			t.Errorf("client list shows a secret")
		}
	}
	if len(listed) != 4 || !slices.Contains(ids, id) || !slices.Contains(ids, ccID) || strings.Contains(raw, secret) {
		t.Errorf("client list --json:\n%s", raw)
	}
	if out := d.must("client", "list", "--tenant", "acme"); len(lines(out)) != 5 || !strings.Contains(out, id) {
		t.Errorf("client list:\n%s", out)
	}

	// Delete.
	if out := d.must("client", "delete", "--tenant", "acme", id); !strings.Contains(out, id) {
		t.Errorf("client delete printed %q", out)
	}
	// The CLI is another process (here another store) than app: app's
	// client cache hears of the deletion within a second at most.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := app.Clients.GetClient(ctx, acme.ID, id); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Error("the deleted client is still there after 3 s")
			break
		}
	}
	d.fails(1, "client", "delete", "--tenant", "acme", id)
	d.fails(1, "client", "delete", "--tenant", "acme")
	cs, err := app.Clients.ListClients(ctx, acme.ID, store.Page{})
	if err != nil || len(cs) != 3 {
		t.Errorf("after delete: %d clients, %v", len(cs), err)
	}
}
