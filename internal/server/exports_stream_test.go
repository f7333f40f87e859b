package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
)

// smallBufListener shrinks the send buffer of every accepted connection,
// so a response larger than a few kilobytes waits on the client.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestUsersExportOutlivesWriteTimeout: on the real server, an export that
// takes longer than the server's write timeout (because the client reads
// slowly) still arrives whole: each write of the stream moves the write
// deadline on.
func TestUsersExportOutlivesWriteTimeout(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Addr, cfg.PublicURL = "127.0.0.1:0", "http://127.0.0.1:0"
	cfg.HTTP.WriteTimeout = 300 * time.Millisecond
	ln, cfg, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app, err := Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, smallBufListener{ln}, nil) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	}()

	ta := &testApp{App: app, t: t}
	tn := ta.tenant("big")
	const users = 2000
	var sb strings.Builder
	for i := range users {
		fmt.Fprintf(&sb, `{"external_id":"big-%d","email":"user%d@example.com","given_name":"Given %d","family_name":"Family %d","attributes":{"note":"%s"}}`+"\n",
			i, i, i, i, strings.Repeat("x", 200))
	}
	src, err := userimport.NewSource("jsonl", strings.NewReader(sb.String()), userimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if job, err := app.Importer.Run(ctx, testActor, userimport.Spec{Tenant: tn.ID, Format: "jsonl", Digest: "big"}, src, nil); err != nil || job.Created != users {
		t.Fatalf("import: %+v, %v", job, err)
	}

	client := &http.Client{Timeout: 90 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, cfg.PublicURL+"/api/v1/tenants/big/users/export", nil)
	req.Header.Set("Authorization", "Bearer "+ta.key(store.PlatformTenant, "admin"))
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", res.StatusCode)
	}
	// Read nothing until the write timeout has passed: the server's
	// writes wait on the client meanwhile.
	time.Sleep(2 * cfg.HTTP.WriteTimeout)
	var body []byte
	buf := make([]byte, 64<<10)
	start := time.Now()
	for time.Since(start) < 60*time.Second { // bounded; slow under the race detector on a busy machine
		n, err := res.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("export cut short after %d bytes: %v", len(body), err)
		}
	}
	if n := strings.Count(string(body), "\n"); n != users || !strings.Contains(string(body), `"big-1999"`) {
		t.Fatalf("export has %d lines of %d (%d bytes)", n, users, len(body))
	}
}
