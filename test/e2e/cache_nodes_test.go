package e2e

import (
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestClientChangesReachEveryNode: clients are cached in each node's
// memory, and a secret rotation or a client deletion made through one node
// takes effect on the other within a second (PostgreSQL LISTEN/NOTIFY),
// though each node has the client cached from a token request just before.
func TestClientChangesReachEveryNode(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	_, a, b, envA, _ := twoNodes(t, sqltest.PostgresDSN(t))
	out, errOut, code := cli(t, envA, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	clientChangesReach(t, &client{t: t, base: a.URL, token: lastLine(out)}, b.URL)
}

// TestClientChangesSQLite: on SQLite (one node) the same changes take
// effect in process at once.
func TestClientChangesSQLite(t *testing.T) {
	n, _, api := setupOIDC(t)
	clientChangesReach(t, api, n.URL)
}

// clientChangesReach changes a client through api's node and watches the
// token endpoint of the node at base, which has the client cached.
func clientChangesReach(t *testing.T, api *client, base string) {
	t.Helper()
	var c map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/clients", map[string]any{
		"name": "cached service", "grant_types": []string{"client_credentials"},
	}).json(t, &c)
	id, secret := c["client_id"].(string), c["client_secret"].(string)
	tokenURL := base + "/t/default/oauth/token"
	grant := func(secret string) int {
		return postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, id, secret).Status
	}
	// within polls until grant(secret) answers want, failing past a second.
	within := func(what, secret string, want int) {
		t.Helper()
		start := time.Now()
		for {
			got := grant(secret)
			if got == want {
				t.Logf("%s: %d after %v", what, want, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s: still %d after %v, want %d", what, got, time.Since(start), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for range 3 { // cached now on the reading node
		if st := grant(secret); st != 200 {
			t.Fatalf("client_credentials before the change: %d", st)
		}
	}
	var rot map[string]any
	api.must(200, "POST", "/api/v1/tenants/default/clients/"+id+"/secret", nil).json(t, &rot)
	next := rot["client_secret"].(string)
	if next == "" || next == secret {
		t.Fatalf("rotated secret: %v", rot)
	}
	within("old secret after rotation", secret, 401)
	within("new secret after rotation", next, 200)

	api.must(204, "DELETE", "/api/v1/tenants/default/clients/"+id, nil)
	within("client after deletion", next, 401)
}
