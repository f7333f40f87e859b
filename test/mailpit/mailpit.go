// Package mailpit starts a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit, MIT), pinned in test/tools/mailpit, built
// once from the Go module proxy into a cache directory, run on 127.0.0.1
// ports with no outbound checks, and read through its HTTP API. Tests that
// need it skip when it cannot be built, except in CI (CI=true) where that
// fails them.
package mailpit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the mailpit the tests run (test/tools/mailpit/go.mod).
const Version = "v1.33.1"

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds mailpit once per process (and once per machine: the result
// is cached under the user cache directory) and answers its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildPath, buildErr = build() })
	if buildErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mailpit: %v", buildErr)
		}
		t.Skipf("mailpit cannot be built here: %v", buildErr)
	}
	return buildPath
}

func build() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "gatehouse-test")
	out := filepath.Join(dir, "mailpit-"+Version)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	_, file, _, _ := runtime.Caller(0)
	tools := filepath.Join(filepath.Dir(file), "..", "tools", "mailpit")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, "github.com/axllent/mailpit")
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build github.com/axllent/mailpit: %v\n%s", err, stderr.String())
	}
	return out, os.Rename(tmp, out)
}

// Server is one running mailpit.
type Server struct {
	// SMTPHost and SMTPPort accept mail; API is the HTTP API's base URL.
	SMTPHost string
	SMTPPort int
	API      string
	cmd      *exec.Cmd
	exited   chan struct{}
	bin      string
	db       string
	extra    []string
	log      *bytes.Buffer
}

// freePort answers a loopback port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs mailpit on free 127.0.0.1 ports until the test ends; extra
// are more mailpit flags (such as --smtp-tls-cert).
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{SMTPHost: "127.0.0.1", SMTPPort: freePort(t), bin: Binary(t),
		db: filepath.Join(t.TempDir(), "mailpit.db"), extra: extra}
	s.API = "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// Restart starts mailpit again on the same ports and database (after Stop).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.log = &bytes.Buffer{}
	args := []string{
		"--smtp", "127.0.0.1:" + strconv.Itoa(s.SMTPPort),
		"--listen", strings.TrimPrefix(s.API, "http://"),
		"--database", s.db,
		"--disable-version-check", "--block-remote-css-and-fonts",
		"--pop3", "127.0.0.1:0", "--quiet"}
	s.cmd = exec.Command(s.bin, append(args, s.extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			t.Fatalf("mailpit exited: %s", s.log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort)), time.Second)
		if err == nil {
			c.Close()
			if res, err := http.Get(s.API + "/api/v1/messages"); err == nil {
				res.Body.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("mailpit did not listen within 30s: %s", s.log.String())
}

// Stop ends mailpit (its database stays for Restart).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Message is a received mail as the API tells it.
type Message struct {
	ID      string
	Subject string
	To      []string
	Text    string
	HTML    string
}

// Messages answers every received mail, newest first.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
			To      []struct {
				Address string `json:"Address"`
			} `json:"To"`
		} `json:"messages"`
	}
	s.get(t, "/api/v1/messages?limit=500", &list)
	out := make([]Message, 0, len(list.Messages))
	for _, m := range list.Messages {
		msg := Message{ID: m.ID, Subject: m.Subject}
		for _, a := range m.To {
			msg.To = append(msg.To, a.Address)
		}
		out = append(out, msg)
	}
	return out
}

// Message answers one mail with its bodies.
func (s *Server) Message(t testing.TB, id string) Message {
	t.Helper()
	var m struct {
		ID      string `json:"ID"`
		Subject string `json:"Subject"`
		Text    string `json:"Text"`
		HTML    string `json:"HTML"`
		To      []struct {
			Address string `json:"Address"`
		} `json:"To"`
	}
	s.get(t, "/api/v1/message/"+id, &m)
	msg := Message{ID: m.ID, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
	for _, a := range m.To {
		msg.To = append(msg.To, a.Address)
	}
	return msg
}

// WaitFor polls (bounded by timeout) for a mail to `to` whose subject
// contains subject and that is not in skip; it answers it with its bodies.
func (s *Server) WaitFor(t testing.TB, to, subject string, timeout time.Duration, skip ...string) Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range s.Messages(t) {
			if contains(skip, m.ID) || !contains(m.To, to) || !strings.Contains(m.Subject, subject) {
				continue
			}
			return s.Message(t, m.ID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s with %q within %s; have %+v", to, subject, timeout, s.Messages(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) get(t testing.TB, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.API+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mailpit API %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
}
