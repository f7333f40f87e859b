package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// maxLines is the most lines a hand-written Go file may have (STYLE.md:
// split past about 600 lines, by domain).
const maxLines = 600

// oversized are the files over maxLines today, each with its current
// length as its limit. This list must only shrink: a listed file may not
// grow, and once it is split below maxLines its entry must go (the test
// says so). Never add a file to it.
var oversized = map[string]int{
	"internal/store/storetest/oauth_tokens.go": 730,
	"test/e2e/oidc_grants_test.go":             722,
}

// TestFilesStaySmall: hand-written Go files (generated ones excepted) stay
// under maxLines, the oversized list apart.
func TestFilesStaySmall(t *testing.T) {
	root, _ := filepath.Abs("../..")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if (strings.HasPrefix(d.Name(), ".") || d.Name() == "data" || d.Name() == "node_modules") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if generated.Match(b) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		n := strings.Count(string(b), "\n")
		limit, listed := oversized[rel]
		seen[rel] = listed
		switch {
		case listed && n <= maxLines:
			t.Errorf("%s has %d lines now: remove it from the oversized list", rel, n)
		case listed && n > limit:
			t.Errorf("%s has %d lines, more than its listed %d: it may only shrink; split it by domain (STYLE.md)", rel, n, limit)
		case !listed && n > maxLines:
			t.Errorf("%s has %d lines, over %d; split it by domain (STYLE.md)", rel, n, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range oversized {
		if _, ok := seen[f]; !ok {
			t.Errorf("%s is in the oversized list but does not exist: remove it", f)
		}
	}
}

// generated matches the marker of generated Go files (go help generate).
var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)
