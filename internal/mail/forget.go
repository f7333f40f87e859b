package mail

import (
	"errors"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
)

// maxForgetHeader bounds how much of each file Forget reads: the
// headers sit at the start.
const maxForgetHeader = 64 << 10

// Forget removes the mail files in Dir addressed to any of addrs
// (compared case-insensitively): an erased person's development mails.
// It answers how many it removed; a file it cannot parse is left alone.
func (f *FileSender) Forget(addrs []string) (int, error) {
	want := map[string]bool{}
	for _, a := range addrs {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			want[a] = true
		}
	}
	entries, err := os.ReadDir(f.Dir)
	if errors.Is(err, fs.ErrNotExist) || len(want) == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		path := filepath.Join(f.Dir, e.Name())
		if !addressedTo(path, want) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
		n++
	}
	return n, nil
}

// addressedTo reports whether the mail file's To, Cc or Bcc names one of
// want.
func addressedTo(path string, want map[string]bool) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	buf := make([]byte, maxForgetHeader)
	k, _ := fh.Read(buf)
	head := string(buf[:k])
	if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
		head = head[:i+4]
	} else if i := strings.Index(head, "\n\n"); i >= 0 {
		head = head[:i+2]
	}
	m, err := mail.ReadMessage(strings.NewReader(head))
	if err != nil {
		return false
	}
	for _, h := range []string{"To", "Cc", "Bcc"} {
		list, err := m.Header.AddressList(h)
		if err != nil {
			continue
		}
		for _, a := range list {
			if want[strings.ToLower(a.Address)] {
				return true
			}
		}
	}
	return false
}
