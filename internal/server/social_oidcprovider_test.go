package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oidcProviderDir answers a directory where node oidc-provider 9 is
// installed: $PEERS/oidc-provider, by default bench/.peers/oidc-provider
// (ignored by git), the one bench/peers.sh fills. It installs the library
// with npm when it is missing. Without node or npm, or when the install
// fails, the test is skipped on a developer's machine and fails in CI,
// saying what to install.
func oidcProviderDir(t *testing.T) string {
	t.Helper()
	peers := os.Getenv("PEERS")
	if peers == "" {
		peers = filepath.Join("..", "..", "bench", ".peers")
	}
	dir, err := filepath.Abs(filepath.Join(peers, "oidc-provider"))
	if err != nil {
		t.Fatal(err)
	}
	unavailable := func(format string, a ...any) {
		msg := "node oidc-provider 9 is needed as the upstream (node 20+ and npm, the npm registry reachable; " +
			"bench/peers.sh installs it): " + fmt.Sprintf(format, a...)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		unavailable("no node on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err == nil {
		return dir
	}
	if _, err := exec.LookPath("npm"); err != nil {
		unavailable("no npm on PATH")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		unavailable("%v", err)
	}
	pkg := filepath.Join(dir, "package.json")
	if _, err := os.Stat(pkg); err != nil {
		if err := os.WriteFile(pkg, []byte(`{"name":"gatehouse-bench-peer","private":true,"type":"module"}`+"\n"), 0o644); err != nil {
			unavailable("%v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--silent", "oidc-provider@9")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("npm install oidc-provider@9 in %s: %v: %.2000s", dir, err, out)
	}
	return dir
}

// nodeUpstream is testdata/oidc-provider-upstream.mjs running on node
// oidc-provider: its issuer and the client secret of its one client.
type nodeUpstream struct {
	issuer, secret string
}

// startNodeUpstream runs the provider for callback, with account sub
// whose email is email; it stops at cleanup.
func startNodeUpstream(t *testing.T, callback, sub, email string) nodeUpstream {
	t.Helper()
	dir := oidcProviderDir(t)
	script, err := os.ReadFile(filepath.Join("testdata", "oidc-provider-upstream.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	// ES modules resolve imports from their own directory: the script
	// runs next to the library's node_modules, under a name of this run.
	name := filepath.Join(dir, "upstream-"+rand.Text()[:10]+".mjs")
	if err := os.WriteFile(name, script, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(name) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	up := nodeUpstream{issuer: fmt.Sprintf("http://127.0.0.1:%d", port), secret: hex.EncodeToString(secret)}
	out := &syncBuffer{}
	cmd := exec.Command("node", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "CALLBACK="+callback, "CLIENT_SECRET="+up.secret,
		"ACCOUNT="+sub, "EMAIL="+email)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(up.issuer + "/.well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return up
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidc-provider did not answer discovery within 20 s: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// follow walks redirects from loc, absolute or relative to the page that
// sent them, through any host: into the upstream, its interaction and
// back to the callback, until the app's redirect or a page.
func (b *browserClient) follow(loc string) page {
	b.t.Helper()
	cur, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	for range 20 {
		if strings.HasPrefix(cur.String(), b.base+"/") {
			return b.walk(b.get(strings.TrimPrefix(cur.String(), b.base)))
		}
		req, err := http.NewRequest(http.MethodGet, cur.String(), nil)
		if err != nil {
			b.t.Fatal(err)
		}
		p := b.send(req)
		if p.status < 300 || p.status > 399 {
			return p
		}
		next, err := cur.Parse(p.location())
		if err != nil {
			b.t.Fatal(err)
		}
		cur = next
	}
	b.t.Fatal("more than 20 redirects")
	return page{}
}

// TestSocialNodeOIDCProvider: a first login through a generic OpenID
// Connect connection to node oidc-provider with its defaults, which puts
// the email in userinfo and not in the ID token, creates the user with
// that email.
func TestSocialNodeOIDCProvider(t *testing.T) {
	ta := openSocialApp(t, backends[0], 0)
	w, key := newShop(t, ta)
	up := startNodeUpstream(t, ta.srv.URL+"/t/shop/connections/node/callback", "node-user-1", "ada@node.example")
	w.addConnection(key, map[string]any{"type": "oidc", "name": "node", "display_name": "Node IdP", "issuer": up.issuer,
		"client_id": "gatehouse", "client_secret": up.secret})

	b := ta.browser()
	toApp(t, b.follow(w.start(b, "node")))
	u := w.mustUser("ada@node.example")
	if !u.EmailVerified {
		t.Errorf("the upstream's verified email is not verified: %+v", u)
	}
	ids := w.identities(u.ID)
	if len(ids) != 1 || ids[0].Subject != "node-user-1" {
		t.Errorf("identities %+v, want one of subject node-user-1", ids)
	}
}
