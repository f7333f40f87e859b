package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportKilledResumes: `gatehouse users import` killed with SIGKILL
// half-way loses at most the batch in progress; --resume ends with
// exactly the file's users, each once.
func TestImportKilledResumes(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			const users = 20000
			env := testEnv(t.TempDir(), b.db, "")
			if _, e, code := cli(t, env, "tenant", "create", "--slug", "big", "--name", "Big"); code != 0 {
				t.Fatalf("tenant create: %s", e)
			}
			var sb strings.Builder
			sb.WriteString("external_id,email,password_hash\n")
			for i := range users {
				fmt.Fprintf(&sb, "k%d,k%d@example.com,{SSHA}tnWy+3hx47baeSkM5cMWmFAEx0Bf39bpO4gulQ==\n", i, i)
			}
			file := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(binary, "users", "import", "--tenant", "big", "--format", "csv", file, "--batch", "500")
			cmd.Env = env
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The first progress line comes after the first committed batch.
			progressed := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "import:") {
						progressed <- true
						return
					}
				}
				progressed <- false
			}()
			select {
			case ok := <-progressed:
				if !ok {
					t.Fatal("import ended without a progress line")
				}
			case <-time.After(60 * time.Second):
				t.Fatal("no progress within 60s")
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()

			out, e, code := cli(t, env, "users", "export", "--tenant", "big", "--format", "csv")
			partial := len(strings.Split(strings.TrimSpace(out), "\n")) - 1
			if code != 0 || partial < 500 || partial >= users || partial%500 != 0 {
				t.Fatalf("after the kill: %d users (exit %d, %s); want whole batches of 500 short of %d", partial, code, e, users)
			}

			out, e, code = cli(t, env, "users", "import", "--tenant", "big", "--format", "csv", file, "--resume", "--batch", "500")
			if code != 0 || !strings.Contains(out, fmt.Sprintf("finished; created %d, updated 0, skipped 0, rejected 0", users)) {
				t.Fatalf("resume: exit %d\n%s\n%s", code, out, e)
			}
			out, _, _ = cli(t, env, "users", "export", "--tenant", "big", "--format", "csv")
			rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
			seen := map[string]bool{}
			for _, r := range rows {
				seen[strings.SplitN(r, ",", 2)[0]] = true
			}
			if len(rows) != users || len(seen) != users {
				t.Errorf("after resume: %d rows, %d distinct external ids; want %d", len(rows), len(seen), users)
			}
		})
	}
}
