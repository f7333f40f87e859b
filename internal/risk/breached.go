package risk

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Breached checks passwords offline against a corpus in the Have I Been
// Pwned format, read from GATEHOUSE_BREACHED_PASSWORDS: either a directory
// of range files (named by the 5 upper-case hex characters of a SHA-1
// prefix, optionally with ".txt", each line "SUFFIX:COUNT" with the 35
// remaining characters), or one file of "SHA1:COUNT" lines sorted by hash.
// Only the k-anonymity prefix selects a file and only hashes are compared:
// the password is never written anywhere.
type Breached struct {
	dir  string
	file string
	size int64
}

// OpenBreached opens the corpus at path (a directory or a sorted file).
func OpenBreached(path string) (*Breached, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("risk: breached passwords: %w", err)
	}
	if fi.IsDir() {
		return &Breached{dir: path}, nil
	}
	return &Breached{file: path, size: fi.Size()}, nil
}

// Status says which corpus is loaded, for /readyz.
func (b *Breached) Status() string {
	switch {
	case b == nil:
		return "off: GATEHOUSE_BREACHED_PASSWORDS not set; breached_password is off"
	case b.dir != "":
		return "ok: range files"
	}
	return "ok: sorted file"
}

// maxLine bounds one line of a corpus.
const maxLine = 128

// Contains reports whether password is in the corpus. A nil *Breached
// contains nothing.
func (b *Breached) Contains(password string) (bool, error) {
	if b == nil || password == "" {
		return false, nil
	}
	sum := sha1.Sum([]byte(password))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	if b.dir != "" {
		return b.inRange(h)
	}
	return b.inSorted(h)
}

// inRange scans the range file of h's prefix for its suffix.
func (b *Breached) inRange(h string) (bool, error) {
	prefix, suffix := h[:5], h[5:]
	var f *os.File
	var err error
	for _, name := range []string{prefix, prefix + ".txt", strings.ToLower(prefix), strings.ToLower(prefix) + ".txt"} {
		if f, err = os.Open(filepath.Join(b.dir, name)); err == nil {
			break
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("risk: breached passwords: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, maxLine), maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, _, _ := strings.Cut(line, ":"); strings.EqualFold(s, suffix) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// inSorted binary-searches the sorted file: each probe reads the first
// whole line after an offset.
func (b *Breached) inSorted(h string) (bool, error) {
	f, err := os.Open(b.file)
	if err != nil {
		return false, fmt.Errorf("risk: breached passwords: %w", err)
	}
	defer f.Close()
	target := []byte(h)
	lo, hi := int64(0), b.size
	buf := make([]byte, 2*maxLine)
	// lineAt answers the hash of the first line starting at or after off
	// and where the line after it starts: it reads from off-1, so a line
	// starting exactly at off is found.
	lineAt := func(off int64) ([]byte, int64, error) {
		from := max(off-1, 0)
		n, err := f.ReadAt(buf, from)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		chunk := buf[:n]
		start := 0
		if off > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				return nil, b.size, nil
			}
			start = i + 1
		}
		off = from
		rest := chunk[start:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		line := bytes.TrimSpace(rest[:end])
		hash, _, _ := bytes.Cut(line, []byte(":"))
		return bytes.ToUpper(hash), off + int64(start+end+1), nil
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		hash, next, err := lineAt(mid)
		if err != nil {
			return false, fmt.Errorf("risk: breached passwords: %w", err)
		}
		if len(hash) == 0 { // past the last line
			hi = mid
			continue
		}
		switch c := bytes.Compare(hash, target); {
		case c == 0:
			return true, nil
		case c < 0:
			lo = next
		default:
			hi = mid
		}
	}
	return false, nil
}
