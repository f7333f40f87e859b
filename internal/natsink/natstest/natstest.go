// Package natstest runs a NATS server with JetStream inside a test
// process, on 127.0.0.1, so tests of the NATS sink need no service.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a running nats-server of the test.
type Server struct {
	*server.Server
	Dir  string
	Port int
}

// Start runs a JetStream server storing in dir on 127.0.0.1:port (0: a
// free port); it stops at the test's end.
func Start(t testing.TB, dir string, port int) *Server {
	t.Helper()
	p := port
	if p == 0 {
		p = -1 // the server picks a free port
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: p, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return &Server{Server: s, Dir: dir, Port: s.Addr().(*net.TCPAddr).Port}
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Stop shuts the server down and waits until it has.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}
