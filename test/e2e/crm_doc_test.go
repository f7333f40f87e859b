package e2e

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCRMReceiverFromDocs runs the CRM receiver of docs/integrations.md as
// written (python3) against the real server: a sign-up, a profile change
// and a deletion reach its customer table, each verified and applied once.
func TestCRMReceiverFromDocs(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A CRM kept in step with webhooks")
	_, rest, ok2 := strings.Cut(rest, "```python\n")
	code, _, ok3 := strings.Cut(rest, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/integrations.md has no CRM receiver block")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crm_receiver.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, status := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if status != 0 {
		t.Fatal("apikey create failed")
	}
	c := &client{t: t, base: n.URL, token: lastLine(out)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var hook struct{ ID, Secret string }
	c.must(201, "POST", "/api/v1/tenants/default/webhooks", map[string]any{
		"url": fmt.Sprintf("http://127.0.0.1:%d/hooks/gatehouse", port), "description": "CRM",
		"events": []string{"user.created", "user.updated", "user.deleted", "user.erased", "consent.*", "preferences.changed"},
	}).json(t, &hook)
	cmd := exec.Command(py, "crm_receiver.py", fmt.Sprint(port))
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "GATEHOUSE_WEBHOOK_SECRET="+hook.Secret)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var ada, bob struct{ ID string }
	c.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "ada@example.com", "given_name": "Ada"}).json(t, &ada)
	c.must(200, "PATCH", "/api/v1/tenants/default/users/"+ada.ID, map[string]any{"given_name": "Augusta", "family_name": "King"})
	c.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "bob@example.com"}).json(t, &bob)
	c.must(204, "DELETE", "/api/v1/tenants/default/users/"+bob.ID, nil)

	db, err := openSQLite(filepath.Join(dir, "crm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows = rows[:0]
		var processed int
		_ = db.QueryRow(`SELECT COUNT(*) FROM processed`).Scan(&processed)
		if r, err := db.Query(`SELECT user_id, email, given_name, family_name FROM customers ORDER BY email`); err == nil {
			for r.Next() {
				var id, email, given, family sql.NullString
				_ = r.Scan(&id, &email, &given, &family)
				rows = append(rows, strings.Join([]string{id.String, email.String, given.String, family.String}, ","))
			}
			r.Close()
		}
		if processed == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CRM processed %d events: %v\nreceiver:\n%s\nserver:\n%s", processed, rows, logs.String(), n.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if want := ada.ID + ",ada@example.com,Augusta,King"; len(rows) != 1 || rows[0] != want {
		t.Fatalf("customers = %v, want [%s]", rows, want)
	}
}
