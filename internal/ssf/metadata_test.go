package ssf

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestMetadataGolden: the transmitter metadata of tenant acme, as a
// receiver reads it, against testdata/ssf-configuration.golden.json
// (go test -update rewrites it).
func TestMetadataGolden(t *testing.T) {
	tx := New(Config{PublicURL: "https://id.example.com/"})
	got, err := json.MarshalIndent(tx.MetadataFor("acme"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "ssf-configuration.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("metadata differs from %s:\n%s", path, got)
	}
}
