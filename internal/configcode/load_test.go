package configcode

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not *Error", err)
	}
	out := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		out[i] = p.String()
	}
	return out
}

// TestLoadReportsEveryProblem: every defect of every file comes back at
// once, each with its file, line and key.
func TestLoadReportsEveryProblem(t *testing.T) {
	a := `tenants:
  - slug: acme
    name: Acme
    plans: [gold]
    settings:
      mfa:
        policy: required
        grace_days: "7"
      colour: blue
    clients:
      - name: web
        redirect_uris: https://app.example.com/cb
        public: yes please
    roles:
      - name: ops
        max_duration: forever
    connections:
      - name: google
        client_secret: ${env:OK_NAME}
  - name: no slug
extra: true
`
	b := `tenants:
  - slug: acme
  - slug: API
`
	_, err := Load([]Source{{Name: "a.yaml", Data: []byte(a)}, {Name: "b.yaml", Data: []byte(b)}})
	got := problemsOf(t, err)
	want := []string{
		"a.yaml:4: tenants[acme].plans: unknown key (not in the format yet: it joins when its feature exists)",
		"a.yaml:8: tenants[acme].settings.mfa.grace_days: a whole number is expected here",
		"a.yaml:9: tenants[acme].settings.colour: unknown key",
		"a.yaml:12: tenants[acme].clients[web].redirect_uris: a list is expected here",
		"a.yaml:13: tenants[acme].clients[web].public: true or false is expected here",
		"a.yaml:16: tenants[acme].roles[ops].max_duration: a duration such as 8h or 30m is expected",
		"a.yaml:18: tenants[acme].connections[google].type: every connection needs its type",
		"a.yaml:20: tenants[1].slug: every tenant needs its slug",
		"a.yaml:21: extra: unknown key",
		"b.yaml:2: tenants[acme]: the tenant is also declared at a.yaml:2",
		"b.yaml:3: tenants[API].slug: A slug has lowercase letters, digits and dashes, starts with a letter and does not end with a dash.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadRefusesWrittenSecrets: a connection's secret is a reference,
// never the secret; the problem does not echo it.
func TestLoadRefusesWrittenSecrets(t *testing.T) {
	src := "tenants:\n  - slug: acme\n    connections:\n      - name: corp\n        type: oidc\n        client_secret: hunter2-secret\n"
	_, err := Load([]Source{{Name: "s.yaml", Data: []byte(src)}})
	got := problemsOf(t, err)
	if len(got) != 1 || !strings.HasPrefix(got[0], "s.yaml:6: tenants[acme].connections[corp].client_secret: a secret is never written") ||
		strings.Contains(got[0], "hunter2") {
		t.Errorf("problems: %q", got)
	}
}

// TestLoadPathsDirectory reads a directory's YAML and JSON files (JSON is
// YAML too) and skips the rest.
func TestLoadPathsDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml":    "tenants:\n  - slug: alpha\n    clients: []\n",
		"b.json":    `{"tenants": [{"slug": "bravo", "roles": [{"name": "r", "permissions": ["x:b", "x:a", "x:a"]}]}]}`,
		"notes.txt": "not configuration",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tenants) != 2 || cfg.Tenants[0].Slug != "alpha" || cfg.Tenants[1].Slug != "bravo" {
		t.Fatalf("tenants: %+v", cfg.Tenants)
	}
	if clients, managed := cfg.Tenants[0].objects["clients"]; !managed || len(clients) != 0 {
		t.Errorf("an empty clients list is managed and empty: %v %v", clients, managed)
	}
	if _, managed := cfg.Tenants[0].objects["roles"]; managed {
		t.Error("a kind left out is managed")
	}
	perms, _ := json.Marshal(cfg.Tenants[1].objects["roles"][0].fields["permissions"])
	if string(perms) != `["x:a","x:b"]` {
		t.Errorf("permissions are compared sorted and deduplicated, as stored: %s", perms)
	}
	if _, err := LoadPaths([]string{filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("a missing file loads")
	}
	if _, err := LoadPaths([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "declare no tenant") {
		t.Errorf("an empty directory: %v", err)
	}
}

// TestResolver: environment and file references; a missing one is an
// error naming the reference, never a value; the API's resolver reads no
// files.
func TestResolver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Resolver{LookupEnv: func(k string) (string, bool) { return map[string]string{"SET": "from-env"}[k], k == "SET" },
		ReadFile: os.ReadFile}
	for ref, want := range map[string]string{"${env:SET}": "from-env", "${file:" + path + "}": "from-file"} {
		if got, err := r.Resolve(ref); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, ref := range []string{"${env:UNSET}", "${file:" + dir + "/none}", "plain", "${env:BAD-NAME}", "${file:relative}"} {
		if _, err := r.Resolve(ref); err == nil {
			t.Errorf("Resolve(%s) succeeded", ref)
		}
	}
	if _, err := (Resolver{LookupEnv: r.LookupEnv}).Resolve("${file:" + path + "}"); err == nil ||
		strings.Contains(err.Error(), "from-file") {
		t.Errorf("a resolver without ReadFile: %v", err)
	}
}

// TestLoadRefusesAliasBombs: aliases that expand a small file into a huge
// tree are refused, quickly, instead of being walked.
func TestLoadRefusesAliasBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("tenants:\n  - slug: acme\n    clients:\n      - name: web\n        jwks: {keys: [{x: *a9}]}\n")
	start := time.Now()
	_, err := Load([]Source{{Name: "bomb.yaml", Data: []byte(b.String())}})
	if err == nil || !strings.Contains(err.Error(), "too large once its aliases are expanded") {
		t.Errorf("alias bomb: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %v", d)
	}
}
