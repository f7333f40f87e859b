// Package redistest starts a private redis-server for tests, on a free
// port of 127.0.0.1, with nothing persisted.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Bin is Debian's redis-server.
const Bin = "/usr/bin/redis-server"

// Start runs a redis-server of its own for t and answers its URL; it
// stops at cleanup. Outside CI a missing binary skips t (CI installs
// Debian's redis-server, and fails without it).
func Start(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must install Debian's redis-server", Bin)
		}
		t.Skipf("%s is not installed (apt-get install redis-server): Redis rate-limit tests skipped", Bin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(Bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--protected-mode", "yes")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(addr) {
			return fmt.Sprintf("redis://%s/0", addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 10s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping answers whether a Redis server answers PING on addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
