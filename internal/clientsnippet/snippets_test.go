package clientsnippet

import (
	"encoding/json"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func params(k Kind) Params {
	return Params{Kind: k, Issuer: "https://id.example.com/t/acme", ClientID: "cl_123",
		RedirectURI: "https://app.example.com/auth/callback", TokenEndpoint: "https://id.example.com/t/acme/oauth/token",
		DeviceAuthEndpoint: "https://id.example.com/t/acme/oauth/device_authorization"}
}

func ids(s []Snippet) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.ID)
	}
	return out
}

// TestLibrariesPerKind: each kind offers the libraries that fit it, and
// every snippet names the issuer or endpoints and the client id.
func TestLibrariesPerKind(t *testing.T) {
	want := map[Kind][]string{
		Web: {"go", "node", "spring"}, SPA: {"oidc-client-ts"}, Native: {"go", "appauth"},
		M2M: {"go", "node", "spring", "curl"}, Device: {"go", "curl"},
	}
	for _, k := range Kinds {
		got := For(params(k))
		if !slices.Equal(ids(got), want[k]) {
			t.Errorf("%s: libraries %v, want %v", k, ids(got), want[k])
		}
		for _, s := range got {
			if !strings.Contains(s.Code, "cl_123") || !strings.Contains(s.Code, "https://id.example.com/t/acme") || s.Label == "" {
				t.Errorf("%s/%s lacks the client id or issuer:\n%s", k, s.ID, s.Code)
			}
			public := SettingsFor(k).Public
			if strings.Contains(s.Code, SecretEnv) == public {
				t.Errorf("%s/%s: mentions the secret variable = %v, want %v", k, s.ID, !public, !public)
			}
			if SettingsFor(k).NeedsRedirect && !strings.Contains(s.Code, "https://app.example.com/auth/callback") {
				t.Errorf("%s/%s lacks the redirect URI", k, s.ID)
			}
		}
	}
	if For(Params{Kind: "nope"}) != nil {
		t.Error("an unknown kind has snippets")
	}
	if _, err := ParseKind("nope"); err == nil {
		t.Error("ParseKind(nope): no error")
	}
	if k, err := ParseKind("m2m"); err != nil || k != M2M {
		t.Errorf("ParseKind(m2m) = %q, %v", k, err)
	}
}

// hostile is a value a redirect URI field may carry into a snippet.
const hostile = "https://x.example/cb?a=\"b\"&c='d'`e`\n${HOME}$(id)\\</script>\u2028"

// stringLits answers every string literal of a Go file's source, unquoted.
func stringLits(t *testing.T, src string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		t.Fatalf("snippet does not parse: %v\n%s", err, src)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
			s, err := strconv.Unquote(b.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return true
	})
	return out
}

// TestQuotingHoldsHostileValues: a value with quotes, backticks, newlines
// and shell syntax stays one literal in every language, equal to itself.
func TestQuotingHoldsHostileValues(t *testing.T) {
	for _, k := range Kinds {
		p := params(k)
		p.RedirectURI, p.ClientID, p.TokenEndpoint, p.DeviceAuthEndpoint = hostile, hostile, hostile, hostile
		for _, s := range For(p) {
			switch s.Language {
			case "go":
				if !slices.Contains(stringLits(t, s.Code), hostile) {
					t.Errorf("%s/go: the value is not one Go literal", k)
				}
			case "javascript", "json":
				if !strings.Contains(s.Code, jsq(hostile)) || strings.Contains(s.Code, "\u2028") || strings.Contains(s.Code, "</script>") {
					t.Errorf("%s/%s: the value is not one escaped JS string", k, s.ID)
				}
			case "yaml":
				var doc map[string]any
				if err := yaml.Unmarshal([]byte(s.Code), &doc); err != nil {
					t.Fatalf("%s/yaml does not parse: %v\n%s", k, err, s.Code)
				}
				reg := doc["spring"].(map[string]any)["security"].(map[string]any)["oauth2"].(map[string]any)["client"].(map[string]any)["registration"].(map[string]any)["gatehouse"].(map[string]any)
				if reg["client-id"] != hostile {
					t.Errorf("%s/yaml: client-id = %q", k, reg["client-id"])
				}
			case "shell":
				if strings.Count(s.Code, shq(hostile)) == 0 {
					t.Errorf("%s/curl: the value is not single-quoted", k)
				}
				out, err := exec.Command("sh", "-c", "printf %s "+shq(hostile)).Output()
				if err != nil || string(out) != hostile {
					t.Fatalf("shell quoting: %q, %v", out, err)
				}
			}
		}
	}
	// The AppAuth settings are JSON that decodes to the values.
	p := params(Native)
	p.RedirectURI = hostile
	var cfg map[string]string
	if err := json.Unmarshal([]byte(For(p)[1].Code), &cfg); err != nil || cfg["redirect_uri"] != hostile {
		t.Fatalf("appauth JSON: %v %q", err, cfg["redirect_uri"])
	}
}

// TestGoSnippetsBuild: every Go snippet is gofmt-clean and compiles
// against the module's own golang.org/x/oauth2 and go-oidc.
func TestGoSnippetsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, k := range Kinds {
		for _, s := range For(params(k)) {
			if s.Language != "go" {
				continue
			}
			if f, err := format.Source([]byte(s.Code)); err != nil || string(f) != s.Code {
				t.Errorf("%s/go is not gofmt-clean (%v):\n%s", k, err, s.Code)
			}
			// A directory inside the module, so the build uses go.mod.
			dir, err := os.MkdirTemp("testdata", "build-")
			if err != nil {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if dir, err = os.MkdirTemp("testdata", "build-"); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { os.RemoveAll(dir); os.Remove("testdata") })
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(s.Code), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("go", "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
			if err != nil {
				t.Errorf("%s/go does not build: %v\n%s\n%s", k, err, out, s.Code)
			}
		}
	}
}

func TestCallbackPath(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com/auth/callback?x=1": "/auth/callback",
		"http://127.0.0.1:8000/cb":                  "/cb",
		"com.example.app:/oauth2redirect":           "/oauth2redirect",
		"com.example.app://host/oauth":              "/oauth",
		"":                                          "/callback",
	} {
		if got := callbackPath(in); got != want {
			t.Errorf("callbackPath(%q) = %q, want %q", in, got, want)
		}
	}
}
