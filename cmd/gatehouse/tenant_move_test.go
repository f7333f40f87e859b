package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTenantExportImportCommands: gatehouse tenant export writes the file,
// tenant import recreates the tenant on a fresh database with the same
// master key, and a deployment with another key refuses it with a message
// that says so and exit status 1.
func TestTenantExportImportCommands(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			src := newDeployment(t, be.db(t))
			src.must("tenant", "create", "--slug", "acme", "--name", "Acme")
			file := filepath.Join(t.TempDir(), "acme.jsonl")
			src.must("tenant", "export", "--tenant", "acme", "--output", file)

			other := newDeployment(t, be.db(t))
			if e := other.fails(1, "tenant", "import", "--input", file); !strings.Contains(e, "another master key") {
				t.Errorf("import under another key: %s", e)
			}
			if out := other.must("tenant", "list"); strings.Contains(out, "acme") {
				t.Errorf("a refused import created the tenant:\n%s", out)
			}

			dst := newDeployment(t, be.db(t))
			dst.env["GATEHOUSE_MASTER_KEY"] = src.env["GATEHOUSE_MASTER_KEY"]
			if out := dst.must("tenant", "import", "--input", file); !strings.HasSuffix(strings.TrimSpace(out), "\tacme") {
				t.Errorf("import: %q", out)
			}
			if out := dst.must("tenant", "list"); !strings.Contains(out, "acme") {
				t.Errorf("tenant list after import:\n%s", out)
			}
			dst.fails(1, "tenant", "import", "--input", file)
			dst.fails(1, "tenant", "import")
		})
	}
}
