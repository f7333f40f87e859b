package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mail: RCPT TO: 550 5.1.1 <Ann.Smith+x@example.com>: Recipient address rejected": "mail: RCPT TO: 550 5.1.1 <[address]>: Recipient address rejected",
		"mail: connect: dial tcp 127.0.0.1:25: connection refused":                       "mail: connect: dial tcp 127.0.0.1:25: connection refused",
		"to bob@example.org, carol@example.net":                                          "to [address], [address]",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestForget: the files to the erased addresses go (compared without
// case), the others stay.
func TestForget(t *testing.T) {
	dir := t.TempDir()
	f := &FileSender{Dir: dir, From: "Acme <id@acme.example>", Now: time.Now}
	for _, to := range []string{"gone@example.com", "Gone@Example.com", "kept@example.com"} {
		if err := f.Send(t.Context(), Message{To: to, Subject: "Hello", Text: "text", HTML: "<p>html</p>"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.eml"), []byte("not a mail"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := f.Forget([]string{"GONE@example.com"})
	if err != nil || n != 2 {
		t.Fatalf("Forget = %d %v", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var all strings.Builder
	for _, p := range left {
		b, _ := os.ReadFile(p)
		all.Write(b)
	}
	if len(left) != 2 || strings.Contains(strings.ToLower(all.String()), "gone@") || !strings.Contains(all.String(), "kept@example.com") {
		t.Errorf("left %d files: %s", len(left), all.String())
	}
	if n, err := (&FileSender{Dir: filepath.Join(dir, "none")}).Forget([]string{"a@b.c"}); n != 0 || err != nil {
		t.Errorf("Forget in a missing directory = %d %v", n, err)
	}
}
