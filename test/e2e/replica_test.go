package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newReplicaOf makes a streaming replica of pg with pg_basebackup, in a
// temp dir of its own on a free port, and starts it.
func newReplicaOf(t *testing.T, pg *privatePG) *privatePG {
	t.Helper()
	rep := &privatePG{t: t, bin: pg.bin, asUser: pg.asUser, port: freePort(t)}
	dir, err := os.MkdirTemp("", "gatehouse-pg-replica-")
	if err != nil {
		t.Fatal(err)
	}
	rep.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if pg.asUser != "" {
		fi, err := os.Stat(pg.dir)
		if err != nil {
			t.Fatal(err)
		}
		uid, gid := statOwner(fi)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	rep.run("pg_basebackup", "-D", filepath.Join(dir, "data"), "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port),
		"-U", "postgres", "-R", "-X", "stream", "--no-sync")
	rep.start()
	t.Cleanup(func() { rep.ctl("stop", "-m", "immediate") })
	return rep
}

// accountLogin signs email in through the account sign-in form at base
// (tenant default) and reports whether the sign-in was acknowledged.
func accountLogin(t *testing.T, base, email, password string) bool {
	t.Helper()
	return signInOnce(base, email, password) == nil
}

// replicaState is what /readyz says of the replica.
func replicaState(t *testing.T, base string) string {
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct {
		Replica string `json:"replica"`
	}
	json.NewDecoder(res.Body).Decode(&r)
	return r.Replica
}

func waitReplica(t *testing.T, base, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for replicaState(t, base) != want {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz replica is %q, want %q", replicaState(t, base), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// usersScans counts the scans of the users table on db (a replica counts
// the queries it answers).
func usersScans(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(`SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'users'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadReplica runs a primary and a real streaming replica (initdb and
// pg_basebackup on free ports): user lists read the replica; with the
// replica stopped, sign-ins work and lists fall back to the primary; with
// its replay paused (lag), a changed password is what the sign-in checks.
func TestReadReplica(t *testing.T) {
	pg := newPrivatePG(t)
	rep := newReplicaOf(t, pg)
	repDSN := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", rep.port)
	env := append(testEnv(t.TempDir(), pg.DSN(), testMasterKey), "GATEHOUSE_DB_REPLICA="+repDSN)
	n := start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	var u map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "ann@example.com", "password": "first password 111"}).json(t, &u)
	waitReplica(t, n.URL, "ok")

	repDB, err := sql.Open("pgx", repDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer repDB.Close()
	// Lists go to the replica: its scans of users grow with them.
	before := usersScans(t, repDB)
	for range 5 {
		if r := api.must(200, "GET", "/api/v1/tenants/default/users", nil); !strings.Contains(string(r.Body), "ann@example.com") {
			t.Fatalf("list lacks the user: %s", r.Body)
		}
	}
	// A backend flushes its statistics when idle, at the latest 10 s on.
	deadline := time.Now().Add(15 * time.Second)
	for after := usersScans(t, repDB); after < before+5; after = usersScans(t, repDB) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica scanned users %d times for 5 lists: they did not go to it", after-before)
		}
		time.Sleep(200 * time.Millisecond)
	}
	repDB.Close()

	// The replica stops: sign-ins work, lists fall back to the primary.
	rep.ctl("stop", "-m", "fast")
	if !accountLogin(t, n.URL, "ann@example.com", "first password 111") {
		t.Fatal("sign-in failed with the replica stopped")
	}
	if r := api.must(200, "GET", "/api/v1/tenants/default/users", nil); !strings.Contains(string(r.Body), "ann@example.com") {
		t.Fatalf("list with the replica stopped: %s", r.Body)
	}
	waitReplica(t, n.URL, "left out (reads go to the primary)")

	// The replica is back, then its replay is paused: it lags.
	rep.start()
	waitReplica(t, n.URL, "ok")
	if repDB, err = sql.Open("pgx", repDSN); err != nil {
		t.Fatal(err)
	}
	defer repDB.Close()
	if _, err := repDB.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	id, _ := u["id"].(string)
	api.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, map[string]any{"password": "second password 222"})
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": "bob@example.com", "password": "bob password 333"})
	// No sign-in reads the stale replica: the new passwords work at once,
	// the old one does not.
	if !accountLogin(t, n.URL, "ann@example.com", "second password 222") {
		t.Error("the changed password was refused while the replica lags")
	}
	if accountLogin(t, n.URL, "ann@example.com", "first password 111") {
		t.Error("the old password signed in while the replica lags")
	}
	if !accountLogin(t, n.URL, "bob@example.com", "bob password 333") {
		t.Error("a user the replica has not replayed could not sign in")
	}
	// The paused replica is left out, so lists are current too.
	waitReplica(t, n.URL, "left out (reads go to the primary)")
	if r := api.must(200, "GET", "/api/v1/tenants/default/users", nil); !strings.Contains(string(r.Body), "bob@example.com") {
		t.Errorf("list while the replica is paused lacks the new user: %s", r.Body)
	}
	if _, err := repDB.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitReplica(t, n.URL, "ok")
}
