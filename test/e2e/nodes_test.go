package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestTwoNodesShareOnePostgres starts two servers on one PostgreSQL
// database (each with its own data dir, the same master key): a user
// created through one is read through the other.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	dsn := sqltest.PostgresDSN(t)
	env1 := testEnv(t.TempDir(), dsn, testMasterKey)
	env2 := testEnv(t.TempDir(), dsn, testMasterKey)
	// Both start at once: migrations and the default tenant must not race.
	ch := make(chan *node, 2)
	for _, env := range [][]string{env1, env2} {
		go func() { ch <- start(t, env) }()
	}
	n1, n2 := <-ch, <-ch

	out, errOut, code := cli(t, env1, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	token := lastLine(out)
	c1 := &client{t: t, base: n1.URL, token: token}
	c2 := &client{t: t, base: n2.URL, token: token}

	var u map[string]any
	c1.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "shared@example.com", "given_name": "Shared"}).json(t, &u)
	var got map[string]any
	c2.must(200, "GET", "/api/v1/tenants/default/users/"+u["id"].(string), nil).json(t, &got)
	if got["email"] != "shared@example.com" || got["given_name"] != "Shared" {
		t.Fatalf("node 2 read %v", got)
	}
	// A write through node 2 is seen by node 1, and the audit chain spans both.
	c2.must(200, "PATCH", "/api/v1/tenants/default/users/"+u["id"].(string), map[string]any{"given_name": "Both"})
	c1.must(200, "GET", "/api/v1/tenants/default/users/"+u["id"].(string), nil).json(t, &got)
	if got["given_name"] != "Both" {
		t.Fatalf("node 1 read %v", got)
	}
	if out, errOut, code := cli(t, env2, "audit", "verify", "--tenant", "default"); code != 0 {
		t.Fatalf("audit verify: %s %s", out, errOut)
	}
	// Only one default tenant was made although both nodes bootstrapped.
	var ts struct{ Items []map[string]any }
	out, _, _ = cli(t, env1, "apikey", "create", "--platform", "--scopes", "read")
	(&client{t: t, base: n2.URL, token: lastLine(out)}).must(200, "GET", "/api/v1/tenants", nil).json(t, &ts)
	if len(ts.Items) != 1 {
		t.Fatalf("tenants after two bootstraps: %v", ts.Items)
	}
}

// TestGracefulShutdown: a request in flight when SIGTERM arrives completes,
// and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	env := testEnv(t.TempDir(), "", "")
	n := start(t, env)
	out, _, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatal("apikey create failed")
	}
	token := lastLine(out)

	conn, err := net.Dial("tcp", strings.TrimPrefix(n.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"late@example.com"}`
	// Headers and half the body now, the rest after SIGTERM.
	fmt.Fprintf(conn, "POST /api/v1/tenants/default/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body[:10])
	time.Sleep(200 * time.Millisecond)
	if err := n.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	fmt.Fprint(conn, body[10:])
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if res.StatusCode != 201 {
		t.Fatalf("in-flight request: %d", res.StatusCode)
	}
	select {
	case <-n.exited:
		if n.exitErr != nil {
			t.Fatalf("exit: %v\n%s", n.exitErr, n.Logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
}
