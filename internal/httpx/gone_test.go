package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestLogFailure: a failure caused by the client leaving is logged at info
// level; any other failure, or a cancellation while the request still
// stands, at error level.
func TestLogFailure(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name  string
		ctx   context.Context
		err   error
		level string
	}{
		{"client gone", gone, fmt.Errorf("sqlstore: begin: %w", context.Canceled), "INFO"},
		{"store fault", gone, errors.New("sqlstore: disk I/O error"), "ERROR"},
		{"request alive", context.Background(), fmt.Errorf("x: %w", context.Canceled), "ERROR"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		LogFailure(c.ctx, slog.New(slog.NewTextHandler(&buf, nil)), "web: login", c.err, "request_id", "r1")
		if !strings.Contains(buf.String(), "level="+c.level) || !strings.Contains(buf.String(), "request_id=r1") {
			t.Errorf("%s: %s", c.name, buf.String())
		}
	}
}
