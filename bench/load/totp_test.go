package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// realServer builds cmd/gatehouse and starts `gatehouse serve` on a fresh
// SQLite data dir and 127.0.0.1:0 with small argon2id parameters; it
// returns the base URL and a function running the CLI against the same
// data dir.
func realServer(t *testing.T) (string, func(args ...string) string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the real server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gatehouse")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/gatehouse").CombinedOutput(); err != nil {
		t.Fatalf("build gatehouse: %v\n%s", err, out)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GATEHOUSE_DATA_DIR=" + filepath.Join(dir, "data"),
		"GATEHOUSE_ADDR=127.0.0.1:0", "GATEHOUSE_ARGON2_MEMORY_KIB=1024", "GATEHOUSE_ARGON2_ITERATIONS=1"}
	cli := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "gatehouse listening" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a, cli
	case <-exited:
		t.Fatal("gatehouse exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("gatehouse did not listen within 60s")
	}
	return "", nil
}

// TestTOTPLoginAgainstTheRealServer enrols TOTP users through the account
// pages of a real gatehouse and runs whole password + TOTP flows, more
// than one per user, so a user comes back within its step only after
// waiting for the next one; then checks a wrong password is refused.
func TestTOTPLoginAgainstTheRealServer(t *testing.T) {
	base, cli := realServer(t)
	apikey := strings.TrimSpace(cli("apikey", "create", "--tenant", "default", "--scopes", "admin", "--name", "bench"))
	lines := strings.Split(strings.TrimSpace(cli("client", "create", "--tenant", "default", "--name", "bench",
		"--redirect-uri", "http://127.0.0.1:9/cb", "--json")), "\n")
	var ac struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ac); err != nil || ac.ClientID == "" {
		t.Fatalf("client create: %v %q", err, lines)
	}
	const users, password = 4, "a long bench password 1"
	for i := range users {
		body := fmt.Sprintf(`{"email":"totp%d@example.com","password":%q}`, i, password)
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/tenants/default/users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apikey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := drain(resp, http.StatusCreated); err != nil {
			t.Fatal(err)
		}
	}
	u, err := checkTarget(base)
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{base: u, tenant: "default", acID: ac.ClientID, acSecret: ac.ClientSecret, redirectURI: "http://127.0.0.1:9/cb",
		password: password, totpUser: "totp%d@example.com", totpUsers: users, concurrency: 2, transport: newTransport(2)}
	if err := needTOTP(tg); err != nil {
		t.Fatal(err)
	}
	op, stop, err := setupTOTP(tg)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The users' codes of this step went into confirming their factors: each
	// flow waits for the next step, so the run lasts up to 30 s.
	res := Run(context.Background(), Config{Duration: 40 * time.Second, MaxRequests: users, Concurrency: 2, Timeout: 40 * time.Second}, op)
	if res.Requests != users || res.Errors != 0 {
		t.Fatalf("requests %d errors %d first %v", res.Requests, res.Errors, res.FirstErr)
	}
	// Enrolling again is refused for a user who has a factor: the sign-in
	// stops at the second step.
	if _, err := enrolTOTP(context.Background(), tg, "totp0@example.com"); err == nil || !strings.Contains(err.Error(), "factor already") {
		t.Fatalf("second enrolment: %v", err)
	}
	// A wrong password never reaches the code.
	tg.password = "wrong"
	res = Run(context.Background(), Config{Duration: 10 * time.Second, MaxRequests: 1, Concurrency: 1}, op)
	if res.Errors != 1 || !errors.Is(res.FirstErr, errStatus) {
		t.Fatalf("wrong password: errors %d, first %v", res.Errors, res.FirstErr)
	}
}

// TestNextCodeWaitsForTheNextStep: a user who sent this step's code waits
// (bounded by the context) rather than send a code the server refuses.
func TestNextCodeWaitsForTheNextStep(t *testing.T) {
	u := &totpUser{secret: "JBSWY3DPEHPK3PXP", last: time.Now().Unix()/totpStep + 1}
	var waits atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := nextCode(ctx, u, &waits); !errors.Is(err, context.DeadlineExceeded) || waits.Load() != 1 {
		t.Fatalf("used step: %v, waits %d", err, waits.Load())
	}
	u.last = time.Now().Unix()/totpStep - 1
	code, step, err := nextCode(context.Background(), u, &waits)
	if err != nil || len(code) != 6 || step <= u.last || waits.Load() != 1 {
		t.Fatalf("fresh step: %q %d %v, waits %d", code, step, err, waits.Load())
	}
}
