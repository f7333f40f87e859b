package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSoakShort is the two-minute version of the hour-long soak
// (bench/soak.sh, docs/BENCHMARKS.md "Soak"): mixed load at 70% of the
// capacity measured at its start, on SQLite and, when
// GATEHOUSE_TEST_POSTGRES_DSN is set, on PostgreSQL, side by side. It fails
// on any failed request, any error in the server's log, or growth of
// goroutines, heap or RSS past bench/soakcheck's limits.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for minutes; skipped with -short")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("bench/soak.sh needs curl")
	}
	backends := map[string]string{"sqlite": ""}
	if dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN"); dsn != "" {
		if _, err := exec.LookPath("psql"); err != nil {
			t.Fatal("bench/soak.sh on PostgreSQL needs psql")
		}
		backends["postgres"] = dsn
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "soak.sh")
			cmd.Env = append(os.Environ(), "MINUTES=2", "SAMPLE=30", "PROBE=10s", "CONCURRENCY=8",
				"OUT="+out, "DB="+dsn)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bench/soak.sh: %v\n%s", err, b)
			}
			if !strings.Contains(string(b), "\nPASS\n") {
				t.Fatalf("no verdict:\n%s", b)
			}
			if st, err := os.Stat(filepath.Join(out, "soak.png")); err != nil || st.Size() == 0 {
				t.Fatalf("no plot: %v", err)
			}
			t.Logf("%s", b[strings.LastIndex(string(b), "== verdict"):])
		})
	}
}
