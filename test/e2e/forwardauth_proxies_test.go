package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The reverse proxies of the forward-authentication tests: Debian's nginx
// (auth_request) and caddy (forward_auth), each started by the test as a
// process of its own with a generated configuration in a temporary
// directory, on a free 127.0.0.1 port, never as the system's service. The
// configurations are the ones docs/integrations.md gives.

// nginxConf is the nginx configuration of docs/integrations.md: %[1]s the
// directory for nginx's own files, %[2]d the port nginx listens on, %[3]s
// the application's host name, %[4]s Gatehouse's address (host:port),
// %[5]s the tenant, %[6]s the application's address.
const nginxConf = `daemon off;
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
    listen 127.0.0.1:%[2]d;
    server_name %[3]s;

    # Gatehouse's sign-in start, callback and sign-out on the
    # application's own domain (they set and read its cookie).
    location /t/%[5]s/forward-auth/ {
      proxy_pass http://%[4]s;
      # Keep Gatehouse's redirects to its own login page as they are.
      proxy_redirect off;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }

    # The check nginx makes on every request.
    location = /_gatehouse_auth {
      internal;
      proxy_pass http://%[4]s/t/%[5]s/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Uri $request_uri;
    }

    location / {
      auth_request /_gatehouse_auth;
      auth_request_set $gh_user $upstream_http_x_auth_request_user;
      auth_request_set $gh_email $upstream_http_x_auth_request_email;
      auth_request_set $gh_groups $upstream_http_x_auth_request_groups;
      auth_request_set $gh_roles $upstream_http_x_auth_request_roles;
      auth_request_set $gh_username $upstream_http_x_auth_request_preferred_username;
      auth_request_set $gh_location $upstream_http_location;
      # Not signed in: Gatehouse answers 401 naming where to sign in.
      error_page 401 =302 $gh_location;

      # Set (or cleared) here, so a client cannot send its own.
      proxy_set_header X-Auth-Request-User $gh_user;
      proxy_set_header X-Auth-Request-Email $gh_email;
      proxy_set_header X-Auth-Request-Groups $gh_groups;
      proxy_set_header X-Auth-Request-Roles $gh_roles;
      proxy_set_header X-Auth-Request-Preferred-Username $gh_username;
      proxy_set_header Host $http_host;
      proxy_pass http://%[6]s;
    }
  }
}
`

// caddyConf is the Caddy configuration of docs/integrations.md: %[1]s
// the application's host name, %[2]d the port Caddy listens on, %[3]s
// Gatehouse's address, %[4]s the tenant, %[5]s the application's address.
const caddyConf = `{
	admin off
	auto_https off
}

http://%[1]s:%[2]d {
	bind 127.0.0.1
	# Sign-in start, callback and sign-out on the application's domain.
	handle /t/%[4]s/forward-auth/* {
		reverse_proxy %[3]s
	}
	handle {
		forward_auth %[3]s {
			uri /t/%[4]s/forward-auth
			copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Groups X-Auth-Request-Roles X-Auth-Request-Preferred-Username
		}
		reverse_proxy %[5]s
	}
}
`

// nginxPath finds Debian's nginx; in CI its absence fails the test
// (.ci/run installs it), elsewhere it skips.
func nginxPath(t *testing.T) string {
	return proxyPath(t, "nginx", "GATEHOUSE_TEST_NGINX", "/usr/sbin/nginx")
}

// caddyPath finds Debian's caddy, as nginxPath.
func caddyPath(t *testing.T) string {
	return proxyPath(t, "caddy", "GATEHOUSE_TEST_CADDY", "/usr/bin/caddy")
}

func proxyPath(t *testing.T, name, env, path string) string {
	t.Helper()
	for _, p := range []string{os.Getenv(env), path} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no %s in CI: .ci/run installs Debian's %s (apt-get install -y %s)", name, name, name)
	}
	t.Skipf("no %s (apt-get install -y %s, or set %s)", name, name, env)
	return ""
}

// freePort answers a 127.0.0.1 port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxProxy runs nginx with nginxConf in a directory of its own.
func nginxProxy(exe string) startProxy {
	return func(t *testing.T, gh, app string) string {
		dir, port := t.TempDir(), freePort(t)
		conf := filepath.Join(dir, "nginx.conf")
		writeFile(t, conf, fmt.Sprintf(nginxConf, dir, port, appHost, gh, "default", app))
		runProxy(t, exec.Command(exe, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")), dir, port)
		return fmt.Sprintf("http://%s:%d", appHost, port)
	}
}

// caddyProxy runs caddy with caddyConf, its own files in a directory of
// their own.
func caddyProxy(exe string) startProxy {
	return func(t *testing.T, gh, app string) string {
		dir, port := t.TempDir(), freePort(t)
		conf := filepath.Join(dir, "Caddyfile")
		writeFile(t, conf, fmt.Sprintf(caddyConf, appHost, port, gh, "default", app))
		cmd := exec.Command(exe, "run", "--config", conf, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		runProxy(t, cmd, dir, port)
		return fmt.Sprintf("http://%s:%d", appHost, port)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runProxy runs cmd until the test ends, and waits until it answers on
// port; dir may hold its error.log.
func runProxy(t *testing.T, cmd *exec.Cmd, dir string, port int) {
	t.Helper()
	out := &syncBuffer{}
	exe := filepath.Base(cmd.Path)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("%s exited: %s\n%s", exe, out.String(), log)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %d: %s", exe, port, out.String())
}
