package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-id/gatehouse/"

// pkg is one directory's non-test Go files, parsed for imports and docs.
type pkg struct {
	dir     string // relative to the repo root
	hasDoc  bool
	imports map[string]bool
}

func loadPackages(t *testing.T) []pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]*pkg{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "data" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := byDir[rel]
		if p == nil {
			p = &pkg{dir: filepath.ToSlash(rel), imports: map[string]bool{}}
			byDir[rel] = p
		}
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			p.hasDoc = true
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			p.imports[path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []pkg
	for _, p := range byDir {
		out = append(out, *p)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages: the walk is broken", len(out))
	}
	return out
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range loadPackages(t) {
		if !p.hasDoc {
			t.Errorf("%s: no package doc comment", p.dir)
		}
	}
}

// TestSQLStaysInStore: database/sql and the drivers only in internal/store.
func TestSQLStaysInStore(t *testing.T) {
	banned := []string{"database/sql", "github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/stdlib", "modernc.org/sqlite"}
	for _, p := range loadPackages(t) {
		if strings.HasPrefix(p.dir, "internal/store/") {
			continue
		}
		for _, b := range banned {
			// metrics reads sql.DBStats, a plain struct, to export pool gauges.
			if p.imports[b] && !(p.dir == "internal/metrics" && b == "database/sql") {
				t.Errorf("%s imports %s: SQL belongs in internal/store", p.dir, b)
			}
		}
	}
}

// TestLayers: services know nothing of HTTP; protocol surfaces never reach
// the SQL store; the store depends on no service (internal/ident, pure text
// functions the store derives lookup columns with, is no service and
// depends on nothing of Gatehouse).
func TestLayers(t *testing.T) {
	services := []string{"internal/directory", "internal/tenancy", "internal/events", "internal/keys",
		"internal/credential", "internal/seal", "internal/valid", "internal/store", "internal/oauthclient",
		"internal/flow", "internal/session", "internal/i18n", "internal/branding", "internal/account",
		"internal/connection", "internal/samlreg", "internal/xmlguard",
		"internal/authz", "internal/selfservice", "internal/mail", "internal/mfa"}
	surfaces := []string{"internal/api", "internal/httpx", "internal/oidc", "internal/web",
		"internal/broker", "internal/saml", "internal/ldap", "internal/scim"}
	for _, p := range loadPackages(t) {
		for _, s := range services {
			if p.dir == s && (p.imports["net/http"] || p.imports[module+"internal/httpx"] || p.imports[module+"internal/api"]) {
				t.Errorf("%s is a service but imports HTTP", p.dir)
			}
		}
		for _, s := range surfaces {
			if p.dir == s && p.imports[module+"internal/store/sqlstore"] {
				t.Errorf("%s is a protocol surface but imports the SQL store", p.dir)
			}
		}
		if p.dir == "internal/ident" {
			for im := range p.imports {
				if strings.HasPrefix(im, module) {
					t.Errorf("internal/ident imports %s: it must stay a leaf the store can use", im)
				}
			}
		}
		if strings.HasPrefix(p.dir, "internal/store") {
			for im := range p.imports {
				if strings.HasPrefix(im, module) && !strings.HasPrefix(im, module+"internal/store") && im != module+"internal/ident" {
					t.Errorf("%s imports %s: the store depends on no service", p.dir, im)
				}
			}
		}
	}
}

func TestFilesStaySmall(t *testing.T) {
	root, _ := filepath.Abs("../..")
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			if d != nil && d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := strings.Count(string(b), "\n"); n > 1000 {
			t.Errorf("%s has %d lines; split it by domain (STYLE.md)", path, n)
		}
		return nil
	})
}
