package e2e

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	signupLoadFor = flag.Duration("signup-load", 10*time.Second,
		"how long TestSignupLoadNo5xx signs up (the documented run is 60s)")
	signupLoadWorkers = flag.Int("signup-load-workers", 64, "concurrent sign-up clients of TestSignupLoadNo5xx")
)

// TestSignupLoadNo5xx signs up through the hosted form from 64 clients
// (each a browser with its own cookies) for -signup-load (10 s by
// default; `-signup-load=60s` is the documented run) on SQLite and on
// PostgreSQL, with the server's default argon2id parameters, so the hashes
// are what they are in production. No answer may be a 5xx and none may
// time out (within a minute: the CI machine may be loaded): the hash runs
// before the user's transaction opens, and lock contention left over
// would be answered 503, which fails this test too.
func TestSignupLoadNo5xx(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			// The server's argon2id defaults, not the suite's cheap ones.
			var env []string
			for _, kv := range testEnv(t.TempDir(), b.db, testMasterKey) {
				if !strings.HasPrefix(kv, "GATEHOUSE_ARGON2_") {
					env = append(env, kv)
				}
			}
			n := start(t, env)
			out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
			if code != 0 {
				t.Fatalf("apikey create --platform: %s", errOut)
			}
			openSignup(t, n.URL, lastLine(out))

			var (
				mu       sync.Mutex
				statuses = map[int]int{}
			)
			stop := make(chan struct{})
			timer := time.AfterFunc(*signupLoadFor, func() { close(stop) })
			defer timer.Stop()
			began := time.Now()
			acked, failed := signupLoadStatus(n.URL, "load", *signupLoadWorkers, 1_000_000, stop, time.Minute, func(s int) {
				mu.Lock()
				statuses[s]++
				mu.Unlock()
			})
			took := time.Since(began)
			t.Logf("%s: %d sign-ups in %s with %d clients: %.1f sign-ups/s; answers by status %s",
				b.name, len(acked), took.Round(time.Millisecond), *signupLoadWorkers,
				float64(len(acked))/took.Seconds(), histogram(statuses))
			for s, c := range statuses {
				if s == 0 || s >= 500 {
					t.Errorf("%d sign-ups answered %d (0: no answer within a minute)", c, s)
				}
			}
			if failed > 0 {
				t.Errorf("%d sign-ups were not acknowledged", failed)
			}
			if len(acked) == 0 {
				t.Fatal("no sign-up was acknowledged")
			}
			if logs := n.Logs(); strings.Contains(logs, "database is locked") || strings.Contains(logs, "SQLITE_BUSY") {
				t.Errorf("the server met lock contention under sign-up load:\n%s", grepLines(logs, "locked", "BUSY"))
			}
		})
	}
}

// histogram prints a status count map in status order.
func histogram(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// grepLines is the lines of s containing any of subs, at most 20.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
		if len(out) == 20 {
			break
		}
	}
	return strings.Join(out, "\n")
}
