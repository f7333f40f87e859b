package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsersImportExport drives the CLI: flags after the file, an import
// stopped before its first batch says how to resume and --resume
// finishes it, a second run skips everything, and export writes what
// import reads, hashes only when asked.
func TestUsersImportExport(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
			var sb strings.Builder
			sb.WriteString("external_id,email,password_hash,groups\n")
			for i := range 1200 {
				fmt.Fprintf(&sb, "e%d,u%d@example.com,$2b$04$/07y/Eo4BSuNnA/K0VCzbuI0wn/Lhm1tArxLUFMtY.445Pjf6.6KK,staff\n", i, i)
			}
			file := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
				t.Fatal(err)
			}

			// Ctrl-C after the first progress line: the run stops after
			// that batch and prints the command to resume.
			var out lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errOut := &cancelOnWrite{cancel: cancel, when: "records"}
			env := d.cliEnv(&out, &errOut.lockedBuffer)
			env.stderr = errOut
			if code := run(ctx, env, []string{"users", "import", "--tenant", "acme", "--format", "csv", file, "--batch", "500"}); code != 130 {
				t.Fatalf("interrupted import: exit %d\n%s\n%s", code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), "stopped; created 500,") {
				t.Errorf("interrupted import: %s", out.String())
			}
			if want := "gatehouse users import --tenant acme --format csv " + file + " --resume"; !strings.Contains(errOut.String(), want) {
				t.Errorf("no resume hint %q in:\n%s", want, errOut.String())
			}

			got := d.must("users", "import", "--tenant", "acme", "--format", "csv", file, "--resume", "--batch", "500")
			if !strings.Contains(got, "finished; created 1200, updated 0, skipped 0, rejected 0") {
				t.Errorf("resumed import: %s", got)
			}
			got = d.must("users", "import", "--tenant", "acme", "--format", "csv", file, "--on-conflict", "skip")
			if !strings.Contains(got, "created 0, updated 0, skipped 1200") {
				t.Errorf("second import: %s", got)
			}
			if e := d.fails(1, "users", "import", "--tenant", "acme", "--format", "csv", file, "--resume"); !strings.Contains(e, "no unfinished import") {
				t.Errorf("resume of a finished import: %s", e)
			}
			d.fails(2, "users", "import", "--tenant", "acme", file)

			csvOut := d.must("users", "export", "--tenant", "acme", "--format", "csv", "--include-hashes")
			if n := len(lines(csvOut)); n != 1201 || !strings.Contains(csvOut, "$2b$04$") || !strings.Contains(csvOut, ",staff,") {
				t.Errorf("export: %d lines\n%.300s", n, csvOut)
			}
			if plain := d.must("users", "export", "--tenant", "acme", "--format", "jsonl"); strings.Contains(plain, "$2b$") || len(lines(plain)) != 1200 {
				t.Errorf("export without --include-hashes: %.300s", plain)
			}
			// What export wrote imports into another tenant unchanged.
			d.must("tenant", "create", "--slug", "copy", "--name", "Copy")
			back := filepath.Join(t.TempDir(), "export.csv")
			if err := os.WriteFile(back, []byte(csvOut), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := d.must("users", "import", "--tenant", "copy", "--format", "csv", back); !strings.Contains(got, "created 1200") {
				t.Errorf("re-import: %s", got)
			}
		})
	}
}

// cancelOnWrite calls cancel once a write contains when.
type cancelOnWrite struct {
	lockedBuffer
	cancel func()
	when   string
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.when) {
		c.cancel()
	}
	return c.lockedBuffer.Write(p)
}
