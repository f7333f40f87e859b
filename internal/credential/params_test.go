package credential

import (
	"crypto/rand"
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestVerifyMalformed(t *testing.T) {
	const salt, key = "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	ok := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	bc, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not a hash at all",
		"prefix only":      "$argon2id$",
		"argon2d":          "$argon2d$v=19$m=1024,t=1,p=1$" + salt + "$" + key,
		"wrong version":    "$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + key,
		"no version":       "$argon2id$m=1024,t=1,p=1$" + salt + "$" + key,
		"bad salt b64":     "$argon2id$v=19$m=1024,t=1,p=1$!!!!$" + key,
		"bad key b64":      "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key[:42] + "*",
		"padded b64":       "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "==$" + key,
		"short salt":       "$argon2id$v=19$m=1024,t=1,p=1$AAAAAA$" + key,
		"short key":        "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$AAAAAA",
		"extra segment":    ok("m=1024,t=1,p=1") + "$AAAA",
		"missing key":      "$argon2id$v=19$m=1024,t=1,p=1$" + salt,
		"m overflow":       ok("m=99999999999,t=1,p=1"),
		"m over 4GiB":      ok("m=4294967295,t=1,p=1"),
		"m below 8p":       ok("m=15,t=1,p=2"),
		"t zero":           ok("m=1024,t=0,p=1"),
		"t huge":           ok("m=1024,t=4294967295,p=1"),
		"t 101":            ok("m=1024,t=101,p=1"),
		"p zero":           ok("m=1024,t=1,p=0"),
		"p 65":             ok("m=1024,t=1,p=65"),
		"p 256":            ok("m=1024,t=1,p=256"),
		"negative":         ok("m=-1024,t=1,p=1"),
		"plus sign":        ok("m=+1024,t=1,p=1"),
		"leading zero":     ok("m=01024,t=1,p=1"),
		"reordered":        ok("t=1,m=1024,p=1"),
		"extra param":      ok("m=1024,t=1,p=1,k=1"),
		"missing param":    ok("m=1024,t=1"),
		"huge string":      ok("m=1024,t=1,p=1") + strings.Repeat("A", 1<<16),
		"bcrypt truncated": string(bc[:59]),
		"bcrypt cost 31":   string(bc[:4]) + "31" + string(bc[6:]),
		"bcrypt cost xx":   string(bc[:4]) + "xx" + string(bc[6:]),
		"bcrypt bad char":  string(bc[:59]) + "*",
		"bcrypt 2x":        "$2x$" + string(bc[4:]),
		"bcrypt no $":      string(bc[:6]) + "x" + string(bc[7:]),
	}
	h := newHasher(t, testParams)
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := h.Verify(enc, "password")
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%.60q) = %v, %v, %v; want false, false, ErrMalformedHash", enc, ok, rehash, err)
			}
		})
	}
	// No case may reach the argon2 or bcrypt core: together they must
	// allocate far less than one argon2 block array with test params.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, enc := range cases {
		h.Verify(enc, "password")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 512<<10 {
		t.Errorf("malformed hashes allocated %d bytes; parameters must be rejected before hashing", got)
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		p     Params
		field string // "" means valid
	}{
		{DefaultParams, ""},
		{testParams, ""},
		{Params{8, 1, 1}, ""},
		{Params{4 << 20, 100, 64}, ""},
		{Params{7, 1, 1}, "MemoryKiB"},
		{Params{511, 1, 64}, "MemoryKiB"},
		{Params{4<<20 + 1, 1, 1}, "MemoryKiB"},
		{Params{1024, 0, 1}, "Iterations"},
		{Params{1024, 101, 1}, "Iterations"},
		{Params{1024, 1, 0}, "Parallelism"},
		{Params{1024, 1, 65}, "Parallelism"},
	} {
		err := tc.p.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.p, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: err = %v, want ErrInvalidParams naming %s", tc.p, err, tc.field)
		}
		if _, err := NewHasher(tc.p, rand.Reader); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("NewHasher(%+v) err = %v", tc.p, err)
		}
	}
}
