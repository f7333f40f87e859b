package consoleassets_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/consoleassets"
)

// budget is what the embedded console assets may weigh in all; the
// console as a whole (pages, templates, assets) must add well under 10 MB
// to the binary, and these files are the bulk of it.
const budget = 1 << 20

// TestAssetsSizeBudget: the embedded files stay far below the 10 MB the
// console may add to the binary.
func TestAssetsSizeBudget(t *testing.T) {
	var total int64
	err := fs.WalkDir(consoleassets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded console assets: %d bytes", total)
	if total == 0 || total > budget {
		t.Fatalf("embedded console assets weigh %d bytes, want 1..%d", total, budget)
	}
}

// otherOrigin finds what a browser would load from elsewhere: absolute or
// protocol-relative URLs in CSS url(), @import, or script loads.
var otherOrigin = regexp.MustCompile(`(?i)(url\(\s*['"]?\s*(https?:)?//|@import|importScripts\(|\bimport\s*\(|fetch\(\s*['"](https?:)?//|src\s*=\s*['"](https?:)?//)`)

// TestAssetsLoadNothingFromElsewhere: no script or style refers to another
// origin (the one URL uPlot carries is the text of an error message).
func TestAssetsLoadNothingFromElsewhere(t *testing.T) {
	err := fs.WalkDir(consoleassets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".css")) {
			return err
		}
		b, err := fs.ReadFile(consoleassets.FS(), p)
		if err != nil {
			return err
		}
		if m := otherOrigin.Find(b); m != nil {
			t.Errorf("%s refers to another origin: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if otherOrigin.FindString(`a{background:url(https://cdn.example/x.png)}`) == "" {
		t.Fatal("the check misses a CSS url() of another origin")
	}
}

// TestHandler: assets are served with their types and caching; no
// listings, no writes, nothing outside the folder.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(consoleassets.Handler())
	defer srv.Close()
	for _, p := range append(append([]string{}, consoleassets.Scripts...), consoleassets.Styles...) {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ct := res.Header.Get("Content-Type")
		wantType := "text/css"
		if strings.HasSuffix(p, ".js") {
			wantType = "javascript"
		}
		if res.StatusCode != 200 || len(body) == 0 || !strings.Contains(ct, wantType) || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s = %d %q (%d bytes)", p, res.StatusCode, ct, len(body))
		}
	}
	for _, p := range []string{consoleassets.Prefix, consoleassets.Prefix + "vendor/", consoleassets.Prefix + "../assets.go", consoleassets.Prefix + "nope.js"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	res, err := http.Post(srv.URL+consoleassets.Scripts[0], "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d, want 405", res.StatusCode)
	}
}
