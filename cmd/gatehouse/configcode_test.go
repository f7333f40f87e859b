package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCommands: plan exits 2 with changes and 0 without, 1 on a
// bad file or usage; apply takes secrets from the environment and files;
// export writes DIR/<tenant>.yaml, which then plans nothing.
func TestConfigCommands(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) { testConfigCommands(t, be.db(t)) })
	}
}

func testConfigCommands(t *testing.T, db string) {
	d := newDeployment(t, db)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "corp-secret")
	if err := os.WriteFile(secretFile, []byte("corp-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.env["ACME_GOOGLE_SECRET"] = "google-env-secret"
	file := filepath.Join(dir, "acme.yaml")
	content := `tenants:
  - slug: acme
    name: Acme
    clients:
      - name: web
        redirect_uris: [https://app.acme.example/cb]
    connections:
      - name: google
        type: google
        client_id: 123.apps.googleusercontent.com
        client_secret: ${env:ACME_GOOGLE_SECRET}
      - name: corp
        type: oidc
        issuer: https://login.corp.example
        client_id: gatehouse
        client_secret: ${file:` + secretFile + `}
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _, code := d.run("config", "plan", "-f", file)
	if code != 2 || !strings.Contains(out, "+ client web") || !strings.Contains(out, "Plan: 4 to create, 0 to change, 0 to delete.") {
		t.Fatalf("plan of a new tenant: exit %d\n%s", code, out)
	}
	out = d.must("config", "apply", "-f", dir, "--source", "feedbeef", "--json")
	var plan struct {
		Tenants []struct {
			Changes []struct{ Action, Kind, Key, ID string }
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || len(plan.Tenants) != 1 || len(plan.Tenants[0].Changes) != 4 ||
		plan.Tenants[0].Changes[1].ID == "" || strings.Contains(out, "google-env-secret") || strings.Contains(out, "corp-file-secret") {
		t.Fatalf("apply --json: %v\n%s", err, out)
	}
	if out, _, code := d.run("config", "plan", "-f", file); code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("plan after apply: exit %d\n%s", code, out)
	}

	exportDir := filepath.Join(t.TempDir(), "exported")
	d.must("config", "export", "--tenant", "acme", "-o", exportDir)
	exported, err := os.ReadFile(filepath.Join(exportDir, "acme.yaml"))
	if err != nil || strings.Contains(string(exported), "secret\n") || !strings.Contains(string(exported), "${file:"+secretFile+"}") {
		t.Fatalf("export: %v\n%s", err, exported)
	}
	if _, _, code := d.run("config", "plan", "-f", exportDir); code != 0 {
		t.Errorf("plan of the export: exit %d", code)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("tenants:\n  - slug: acme\n    hooks: []\n    clients:\n      - name: web\n        scopes: openid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut := d.fails(1, "config", "apply", "-f", bad)
	for _, want := range []string{bad + ":3: tenants[acme].hooks: unknown key", bad + ":6: tenants[acme].clients[web].scopes: a list is expected here"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	delete(d.env, "ACME_GOOGLE_SECRET")
	if errOut := d.fails(1, "config", "plan", "-f", file); !strings.Contains(errOut, "${env:ACME_GOOGLE_SECRET}: the environment variable is not set") {
		t.Errorf("unresolvable reference: %s", errOut)
	}
	d.fails(1, "config", "plan")
	d.fails(1, "config", "plan", "--no-such-flag")
	d.fails(1, "config", "export")
}
