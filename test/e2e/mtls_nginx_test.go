package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nginxMTLSConf is the nginx configuration of docs/mtls.md: nginx
// terminates TLS, asks for a client certificate without judging it
// (optional_no_ca: Gatehouse decides, self-signed certificates included)
// and forwards it URL-escaped in X-Client-Cert, replacing whatever the
// client sent under that name. %[1]s nginx's directory, %[2]d its port,
// %[3]s the server certificate, %[4]s its key, %[5]s Gatehouse's address.
const nginxMTLSConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;

  server {
    listen 127.0.0.1:%[2]d ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_verify_client optional_no_ca;

    location / {
      proxy_pass http://%[5]s;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
    }
  }
}
`

// TestMTLSBehindNginx: the real nginx terminates TLS and forwards the
// client certificate; Gatehouse (plain HTTP, nginx its trusted proxy)
// authenticates tls_client_auth and self_signed_tls_client_auth clients
// by it and binds their tokens; a client's own X-Client-Cert header does
// not get through nginx. On every backend.
func TestMTLSBehindNginx(t *testing.T) {
	exe := nginxPath(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { mtlsNginxScenario(t, b, exe) })
	}
}

func mtlsNginxScenario(t *testing.T, b backend, exe string) {
	p := newMTLSPKI(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "clients-ca.pem")
	writeFile(t, caFile, string(p.ca.pem))
	port := freePort(t)
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	env := append(testEnv(dir, b.db, testMasterKey), "GATEHOUSE_PUBLIC_URL="+base,
		"GATEHOUSE_TLS_CLIENT_CA_FILE="+caFile, "GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32")
	n := start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey: %s", errOut)
	}
	key := lastLine(out)

	ndir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, ndir, "server", p.server)
	conf := filepath.Join(ndir, "nginx.conf")
	writeFile(t, conf, fmt.Sprintf(nginxMTLSConf, ndir, port, certFile, keyFile, strings.TrimPrefix(n.URL, "http://")))
	runProxy(t, exec.Command(exe, "-p", ndir, "-c", conf, "-e", filepath.Join(ndir, "error.log")), ndir, port)

	none, withA, withB, selfC := p.client(nil), p.client(&p.a), p.client(&p.b), p.client(&p.self)
	issuer := base + "/t/default"
	m := opMeta{Token: issuer + "/oauth/token", Introspection: issuer + "/oauth/introspect"}
	pki, _, self := mtlsClients(t, none, base, key, freeRedirect(t, "/cb"), p)

	tok, err := ccToken(t, withA, m.Token, pki)
	if err != nil {
		t.Fatalf("tls_client_auth through nginx: %v", err)
	}
	if got := cnfMember(claimsOf(t, tok.AccessToken))["x5t#S256"]; got != x5t(p.a) {
		t.Fatalf("cnf.x5t#S256 = %v, want %s", got, x5t(p.a))
	}
	in := call(t, withA, "POST", m.Introspection, url.Values{"token": {tok.AccessToken}, "client_id": {pki}}, nil)
	if !active(in) || cnfMember(in.Body)["x5t#S256"] != x5t(p.a) {
		t.Fatalf("introspection through nginx: %d %s", in.Status, in.Raw)
	}
	if tok, err := ccToken(t, selfC, m.Token, self); err != nil || cnfMember(claimsOf(t, tok.AccessToken))["x5t#S256"] != x5t(p.self) {
		t.Fatalf("self-signed through nginx: %v", err)
	}
	// Refused: no certificate; another client's; and a certificate header
	// the client wrote itself (nginx replaces it with the connection's, so
	// here with nothing).
	for name, c := range map[string]struct {
		hc  *http.Client
		hdr []string
	}{
		"no certificate":              {none, nil},
		"another client's":            {withB, nil},
		"forged X-Client-Cert header": {none, []string{"X-Client-Cert", rfc9440(p.a)}},
		"forged header with a cert":   {withB, []string{"X-Client-Cert", rfc9440(p.a)}},
	} {
		r := call(t, c.hc, "POST", m.Token, url.Values{"grant_type": {"client_credentials"}, "client_id": {pki}}, nil, c.hdr...)
		if r.Status != http.StatusUnauthorized || r.errCode() != "invalid_client" {
			t.Errorf("%s: %d %s, want 401 invalid_client", name, r.Status, r.Raw)
		}
	}
}
