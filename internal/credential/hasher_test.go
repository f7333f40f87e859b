package credential

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// testParams keep tests fast; one test uses DefaultParams.
var testParams = Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func newHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(p, nil)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newHasher(t, testParams)
	for _, tc := range []struct{ name, pw, wrong string }{
		{"ascii", "correct horse battery staple", "correct horse battery stapl"},
		{"case", "Tr0ub4dor&3", "tr0ub4dor&3"},
		{"cyrillic", "пароль-очень-длинный", "пароль-очень-длинныи"},
		{"emoji", "🐱🐶🐭🐹🐰🦊🐻🐼", "🐱🐶🐭🐹🐰🦊🐻"},
		{"empty", "", " "},
		{"long", strings.Repeat("xyz", 400), strings.Repeat("xyz", 399)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := h.Hash(tc.pw)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !phcRE.MatchString(enc) {
				t.Fatalf("Hash = %q, not a PHC string with test params", enc)
			}
			if ok, rehash, err := h.Verify(enc, tc.pw); !ok || rehash || err != nil {
				t.Errorf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(enc, tc.wrong); ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	h := newHasher(t, DefaultParams)
	if h.Params() != DefaultParams {
		t.Fatalf("Params() = %+v", h.Params())
	}
	enc, err := h.Hash("default params pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q", enc)
	}
	if ok, rehash, err := h.Verify(enc, "default params pass"); !ok || rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v", ok, rehash, err)
	}
}

func TestNFKC(t *testing.T) {
	h := newHasher(t, testParams)
	for _, tc := range []struct{ name, a, b string }{
		{"ligature", "ﬁnancial ﬂow", "financial flow"},
		{"fullwidth digits", "pin１２３４５６", "pin123456"},
		{"fullwidth letters", "ＡＢＣｄｅｆ", "ABCdef"},
		{"composed accent", "caf\u00e9 au lait", "cafe\u0301 au lait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pair := range [][2]string{{tc.a, tc.b}, {tc.b, tc.a}} {
				enc, err := h.Hash(pair[0])
				if err != nil {
					t.Fatal(err)
				}
				if ok, _, err := h.Verify(enc, pair[1]); !ok || err != nil {
					t.Errorf("hash of %q does not verify %q: %v, %v", pair[0], pair[1], ok, err)
				}
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	cur := newHasher(t, testParams)
	for _, tc := range []struct {
		name string
		p    Params
		salt int
	}{
		{"more memory", Params{2048, 1, 1}, saltLen},
		{"more iterations", Params{1024, 2, 1}, saltLen},
		{"more lanes", Params{1024, 1, 2}, saltLen},
		{"weaker", Params{64, 1, 1}, saltLen},
		{"same params, short salt", testParams, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const pw = "rehash me please"
			salt := bytes.Repeat([]byte{7}, tc.salt)
			key := argon2.IDKey([]byte(pw), salt, tc.p.Iterations, tc.p.MemoryKiB, tc.p.Parallelism, keyLen)
			enc := encodePHC(tc.p, salt, key)
			if tc.salt == saltLen { // also exercise the real Hash path
				var err error
				if enc, err = newHasher(t, tc.p).Hash(pw); err != nil {
					t.Fatal(err)
				}
			}
			if ok, rehash, err := cur.Verify(enc, pw); !ok || !rehash || err != nil {
				t.Errorf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			if ok, rehash, err := cur.Verify(enc, pw+"x"); ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := newHasher(t, testParams)
	raw, err := bcrypt.GenerateFromPassword([]byte("imported secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	lig, err := bcrypt.GenerateFromPassword([]byte("financial"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	b := string(raw)
	for _, tc := range []struct {
		name, enc, pw string
		ok            bool
	}{
		{"2a right", b, "imported secret", true},
		{"2b right", "$2b$" + b[4:], "imported secret", true},
		{"2y right", "$2y$" + b[4:], "imported secret", true},
		{"wrong", b, "imported secreT", false},
		{"empty", b, "", false},
		{"nfkc form also tried", string(lig), "ﬁnancial", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tc.enc, tc.pw)
			if ok != tc.ok || rehash != tc.ok || err != nil {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tc.ok, tc.ok)
			}
		})
	}
}

func TestSalt(t *testing.T) {
	h := newHasher(t, testParams)
	a, _ := h.Hash("same password")
	b, _ := h.Hash("same password")
	if a == b {
		t.Errorf("two hashes with crypto/rand are equal: %q", a)
	}
	fixed := func() *Hasher {
		h, err := NewHasher(testParams, bytes.NewReader(bytes.Repeat([]byte{0x42}, 64)))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	c, _ := fixed().Hash("same password")
	d, _ := fixed().Hash("same password")
	if c != d || !strings.Contains(c, "$QkJCQkJCQkJCQkJCQkJCQg$") {
		t.Errorf("fixed reader: %q vs %q; want equal, salt 16*0x42", c, d)
	}
	for name, r := range map[string]*Hasher{
		"error reader": {params: testParams, rand: iotest.ErrReader(errors.New("boom"))},
		"short reader": {params: testParams, rand: bytes.NewReader(make([]byte, 5))},
		"zero Hasher":  {},
	} {
		if enc, err := r.Hash("pw"); err == nil {
			t.Errorf("%s: Hash = %q, want error", name, enc)
		}
	}
	if _, err := h.Hash(strings.Repeat("a", MaxPasswordBytes+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("oversized Hash err = %v, want ErrPasswordTooLong", err)
	}
}

func TestHashConcurrent(t *testing.T) {
	h, err := NewHasher(testParams, bytes.NewReader(make([]byte, 8*16)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := h.Hash("concurrent"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestVerifyDummyTiming(t *testing.T) {
	h := newHasher(t, testParams)
	enc, err := h.Hash("real account password")
	if err != nil {
		t.Fatal(err)
	}
	// Medians of interleaved runs: a pause of the machine (GC, another
	// process) lands on one sample, not on the comparison.
	var real, dummy []time.Duration
	for range 30 {
		start := time.Now()
		h.Verify(enc, "guess")
		real = append(real, time.Since(start))
		start = time.Now()
		h.VerifyDummy("guess")
		dummy = append(dummy, time.Since(start))
	}
	slices.Sort(real)
	slices.Sort(dummy)
	if r, d := real[len(real)/2], dummy[len(dummy)/2]; d < r/2 {
		t.Errorf("VerifyDummy median %v, Verify median %v; want at least half", d, r)
	}
	var zero Hasher
	zero.VerifyDummy("must not panic")
}

func BenchmarkHashDefault(b *testing.B) {
	h := newHasher(b, DefaultParams)
	for b.Loop() {
		if _, err := h.Hash("benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}
