package credential

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestVerifyForeignFixtures checks every imported scheme against hashes
// made by independent implementations (testdata/gen_foreign.py: Python's
// hashlib and the system crypt(3)) and the reference vectors they quote.
func TestVerifyForeignFixtures(t *testing.T) {
	h := newHasher(t, testParams)
	data, err := os.ReadFile("testdata/foreign_hashes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 {
			t.Fatalf("bad fixture line %q", line)
		}
		scheme, pw, encoded := f[0], f[1], f[2]
		seen[scheme] = true
		if got := Scheme(encoded); got != scheme {
			t.Errorf("Scheme(%s) = %q, want %q", encoded, got, scheme)
		}
		ok, rehash, err := h.Verify(encoded, pw)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(%s, right) = %v, %v, %v; want true, true, nil", encoded, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(encoded, pw+"!")
		if ok || rehash || err != nil {
			t.Errorf("Verify(%s, wrong) = %v, %v, %v; want false, false, nil", encoded, ok, rehash, err)
		}
	}
	for _, s := range schemes {
		if !seen[s.name] && s.name != "firebase-scrypt" {
			t.Errorf("no fixture for scheme %s", s.name)
		}
	}
}

// TestVerifyFirebaseVector uses the test vector published in the README of
// github.com/firebase/scrypt (the project's hash parameters and one user).
func TestVerifyFirebaseVector(t *testing.T) {
	h := newHasher(t, testParams)
	enc, err := FirebaseHash("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		"Bw==", 8, 14, "42xEC+ixf3L2lw==",
		"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	if err != nil {
		t.Fatal(err)
	}
	if Scheme(enc) != "firebase-scrypt" {
		t.Errorf("Scheme = %q", Scheme(enc))
	}
	if ok, rehash, err := h.Verify(enc, "user1password"); !ok || !rehash || err != nil {
		t.Errorf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(enc, "user2password"); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
}

// TestVerifyForeignBounds: absurd cost parameters and broken encodings are
// refused as malformed at once, without the work they ask for.
func TestVerifyForeignBounds(t *testing.T) {
	h := newHasher(t, testParams)
	for _, enc := range []string{
		"$pbkdf2-sha256$999999999$Bl6oipc/KBdL7XCZbdP41Q$0el1dDfPcSpptKUevQKiCz5qPqu1N61WojuOI0kCjtQ",
		"$pbkdf2-sha256$0$Bl6oipc/KBdL7XCZbdP41Q$0el1dDfPcSpptKUevQKiCz5qPqu1N61WojuOI0kCjtQ",
		"$pbkdf2-sha256$1000$Bl6oipc/KBdL7XCZbdP41Q$AAAA",
		"pbkdf2_sha256$99999999$salt$vu/AJDMSHdTwIPT4c03lSnGohZbWQrQlY9ZEhXEAeGw=",
		"$scrypt$ln=30,r=8,p=1$Bl6oipc/KBdL7XCZbdP41Q$c0bXfibmm4zzzb8vH3bQ8aBXvISYWja5juxzk7PXGYU",
		"$scrypt$ln=20,r=32,p=1$Bl6oipc/KBdL7XCZbdP41Q$c0bXfibmm4zzzb8vH3bQ8aBXvISYWja5juxzk7PXGYU",
		"$scrypt$ln=10,r=8,p=99$Bl6oipc/KBdL7XCZbdP41Q$c0bXfibmm4zzzb8vH3bQ8aBXvISYWja5juxzk7PXGYU",
		"$firebase-scrypt$ln=40,r=8,p=1$Bw$AAAA$AAAA$AAAA",
		"$6$rounds=999999999$s4ltS4lt$FW3pRQxQZDzTlOZWRblzVUxh2BbTL3HE6sxMcqKMiTdjxz8YVfPXzONxFIQ1N0EBG24hQGPvliSmDGIoSYKVM1",
		"$6$s4ltS4lt$short",
		"$5$rounds=x$s$qjs8lhGJddWHo092U8CIXWDJ7damz5QdcVTOFJVd2l0",
		"$1$toolongsalt$6T4xX34M4VxPyw/UjBASd0",
		"{SSHA}AAAA",
		"{SSHA512}!!!",
		"$salted-sha256$o=xx$DfY7a1b05C4AeJks$BodKpddbh/k6svOBPJUioI5jpufxJqQyZxR4Qc/Haf4",
		"$argon2i$v=19$m=9999999999,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8",
		"$pbkdf2$",
		"$scrypt$",
		"$6$",
	} {
		start := time.Now()
		ok, rehash, err := h.Verify(enc, "correct horse")
		if ok || rehash || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%s) = %v, %v, %v; want ErrMalformedHash", enc, ok, rehash, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("Verify(%s) took %v refusing a malformed hash", enc, d)
		}
	}
}

func TestWeakSchemes(t *testing.T) {
	for name, want := range map[string]bool{"md5-crypt": true, "ssha": true, "ssha512": true, "salted-sha256": true,
		"sha512-crypt": false, "pbkdf2-sha256": false, "argon2id": false, "bcrypt": false} {
		if Weak(name) != want {
			t.Errorf("Weak(%s) = %v", name, !want)
		}
	}
}

func TestValidateHash(t *testing.T) {
	data, err := os.ReadFile("testdata/foreign_hashes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		enc := strings.Split(strings.TrimSpace(line), "\t")[2]
		if err := ValidateHash(enc); err != nil {
			t.Errorf("ValidateHash(%s) = %v", enc, err)
		}
	}
	for _, enc := range []string{"", "plaintext", "$6$rounds=999999999$s$x", "{SSHA}AAAA", "$2b$31$abcdefghijklmnopqrstuuyvPXIbu7xe6/CED2DzX8z6Si09MlzlW"} {
		if err := ValidateHash(enc); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("ValidateHash(%q) = %v, want ErrMalformedHash", enc, err)
		}
	}
}

// TestForeignFailureCostsArgon2id: a wrong password against a cheap
// imported hash costs an argon2id computation, as one against an unknown
// account does (VerifyDummy), so response time does not reveal which
// accounts exist.
func TestForeignFailureCostsArgon2id(t *testing.T) {
	h := newHasher(t, testParams)
	data, err := os.ReadFile("testdata/foreign_hashes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		before := idKeyRuns.Load()
		if ok, _, _ := h.Verify(f[2], f[1]+"x"); ok {
			t.Fatalf("%s: wrong password accepted", f[0])
		}
		if runs := idKeyRuns.Load() - before; runs < 1 {
			t.Errorf("%s: a failed verification ran %d argon2id computations, want at least 1", f[0], runs)
		}
	}
}
