package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConnectionCommands: create with the secret from a file (never
// printed), list, delete; bad input exits 1 and changes nothing.
func TestConnectionCommands(t *testing.T) {
	d := newDeployment(t, "")
	d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("upstream-secret-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := d.must("connection", "create", "--json", "--tenant", "acme", "--type", "oidc", "--name", "corp",
		"--display-name", "Corp SSO", "--issuer", "https://login.corp.example", "--client-id", "gh",
		"--client-secret-file", secretFile, "--scope", "openid", "--scope", "email", "--domain", "corp.example")
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); err != nil || c["has_secret"] != true || c["name"] != "corp" ||
		!strings.HasSuffix(c["callback_url"].(string), "/t/acme/connections/corp/callback") || strings.Contains(out, "upstream-secret-123") {
		t.Fatalf("connection create: %v %s", err, out)
	}
	if errOut := d.fails(1, "connection", "create", "--tenant", "acme", "--type", "oidc", "--name", "plain",
		"--issuer", "http://idp.example.com", "--client-id", "x", "--client-secret-file", secretFile); !strings.Contains(errOut, "issuer") {
		t.Fatalf("http issuer: %s", errOut)
	}
	d.fails(1, "connection", "create", "--tenant", "acme", "--type", "nope", "--name", "x")
	list := d.must("connection", "list", "--tenant", "acme")
	if ls := lines(list); len(ls) != 2 || !strings.Contains(list, "corp") || strings.Contains(list, "plain") {
		t.Fatalf("connection list:\n%s", list)
	}
	d.must("connection", "delete", "--tenant", "acme", "corp")
	if ls := lines(d.must("connection", "list", "--tenant", "acme")); len(ls) != 1 {
		t.Fatalf("after delete: %v", ls)
	}
	d.fails(1, "connection", "delete", "--tenant", "acme", "corp")
	d.fails(2, "connection")
}

// TestConnectionLegacyCommands: a legacy_ldap connection from the flags,
// its bind password sealed (never printed); sync refuses a migrating one.
func TestConnectionLegacyCommands(t *testing.T) {
	d := newDeployment(t, "")
	d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("bind-password-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := d.must("connection", "create", "--json", "--tenant", "acme", "--type", "legacy_ldap", "--name", "old-ad",
		"--url", "ldap://ad.corp.example", "--start-tls", "--bind-dn", "cn=reader,dc=corp,dc=example",
		"--base-dn", "ou=people,dc=corp,dc=example", "--migrate-until", "2027-06-30", "--client-secret-file", secretFile)
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); err != nil || c["has_secret"] != true || c["mode"] != "migrate" ||
		c["start_tls"] != true || c["migrate_until"] != "2027-06-30" || strings.Contains(out, "bind-password-123") {
		t.Fatalf("legacy create: %v %s", err, out)
	}
	if errOut := d.fails(1, "connection", "create", "--tenant", "acme", "--type", "legacy_ldap", "--name", "clear",
		"--url", "ldap://ad.corp.example", "--base-dn", "dc=corp,dc=example"); !strings.Contains(errOut, "start_tls") {
		t.Fatalf("cleartext ldap: %s", errOut)
	}
	if errOut := d.fails(1, "connection", "sync", "--tenant", "acme", "old-ad"); !strings.Contains(errOut, "does not federate") {
		t.Fatalf("sync of a migrating connection: %s", errOut)
	}
}
