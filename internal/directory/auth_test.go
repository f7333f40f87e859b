package directory_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

func TestAuthenticate(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn, other := e.tenant(t, "acme"), e.tenant(t, "other")
		alice := e.user(t, tn, directory.NewUser{Email: "Alice@Example.com", Username: "alice_w", Password: ptr(pw1)})
		e.user(t, tn, directory.NewUser{Email: "nopw@example.com", Username: "nopw"})
		e.user(t, tn, directory.NewUser{Email: "off@example.com", Password: ptr(pw1), Status: "disabled"})
		e.user(t, tn, directory.NewUser{Email: "locked@example.com", Password: ptr(pw1), Status: "locked"})
		e.user(t, other, directory.NewUser{Email: "stranger@example.com", Password: ptr(pw1)})

		for _, id := range []string{"alice@example.com", "ALICE@example.COM", " Alice@Example.com ", "alice_w", "Alice_W"} {
			e.clock.Add(time.Minute)
			u, err := e.dir.Authenticate(t.Context(), tn, id, pw1)
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", id, err)
			}
			if u.ID != alice.ID || u.LastLoginAt == nil || !u.LastLoginAt.Equal(e.clock.Now()) {
				t.Errorf("Authenticate(%q) = %+v, want alice with LastLoginAt %v", id, u, e.clock.Now())
			}
			if got, _ := e.dir.GetUser(t.Context(), tn, alice.ID); got.LastLoginAt == nil || !got.LastLoginAt.Equal(e.clock.Now()) {
				t.Errorf("LastLoginAt not stored: %v", got.LastLoginAt)
			}
		}

		fails := []struct{ name, id, pw string }{
			{"wrong password", "alice@example.com", pw2},
			{"password case changed", "alice@example.com", strings.ToUpper(pw1)},
			{"password prefix", "alice@example.com", pw1[:len(pw1)-1]},
			{"empty password", "alice@example.com", ""},
			{"unknown user", "nobody@example.com", pw1},
			{"unknown username", "nobody", pw1},
			{"empty identifier", "", pw1},
			{"user without password", "nopw@example.com", pw1},
			{"user without password, empty password", "nopw", ""},
			{"disabled user", "off@example.com", pw1},
			{"locked user", "locked@example.com", pw1},
			{"user of another tenant", "stranger@example.com", pw1},
		}
		for _, tc := range fails {
			u, err := e.dir.Authenticate(t.Context(), tn, tc.id, tc.pw)
			if err != directory.ErrInvalidCredentials || u != nil {
				t.Errorf("%s: Authenticate = %+v, %v; want exactly ErrInvalidCredentials", tc.name, u, err)
			}
		}
		// Failures record no login.
		for _, email := range []string{"off@example.com", "locked@example.com"} {
			u, err := e.s.Users().GetUserByEmail(t.Context(), tn, email)
			if err != nil || u.LastLoginAt != nil {
				t.Errorf("%s: LastLoginAt %v (%v) after failures", email, u.LastLoginAt, err)
			}
		}
	})
}

func phcParams(t *testing.T, hash string) string {
	t.Helper()
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		t.Fatalf("not an argon2id PHC string: %q", hash)
	}
	return parts[3]
}

func TestAuthenticateRehashes(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		old := newEnvParams(t, s, credential.Params{MemoryKiB: 2048, Iterations: 2, Parallelism: 1})
		cur := newEnv(t, s)
		tn := old.tenant(t, "acme")
		u := old.user(t, tn, directory.NewUser{Email: "a@example.com", Password: ptr(pw1)})
		if p := phcParams(t, u.PasswordHash); p != "m=2048,t=2,p=1" {
			t.Fatalf("old hash parameters %s", p)
		}
		if _, err := cur.dir.Authenticate(t.Context(), tn, "a@example.com", pw2); err != directory.ErrInvalidCredentials {
			t.Fatalf("wrong password: %v", err)
		}
		if got, _ := cur.dir.GetUser(t.Context(), tn, u.ID); got.PasswordHash != u.PasswordHash || got.Version != u.Version {
			t.Fatalf("a failed login changed the hash or version")
		}

		if _, err := cur.dir.Authenticate(t.Context(), tn, "a@example.com", pw1); err != nil {
			t.Fatal(err)
		}
		got, err := cur.dir.GetUser(t.Context(), tn, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p := phcParams(t, got.PasswordHash); p != "m=1024,t=1,p=1" {
			t.Errorf("hash parameters after login %s, want the current m=1024,t=1,p=1", p)
		}
		if ok, rehash, err := cur.dir.Hasher.Verify(got.PasswordHash, pw1); !ok || rehash || err != nil {
			t.Errorf("new hash: ok=%v rehash=%v err=%v", ok, rehash, err)
		}
		// Up to date now: another login keeps the hash.
		if _, err := cur.dir.Authenticate(t.Context(), tn, "a@example.com", pw1); err != nil {
			t.Fatal(err)
		}
		if again, _ := cur.dir.GetUser(t.Context(), tn, u.ID); again.PasswordHash != got.PasswordHash {
			t.Error("a current hash was rehashed")
		}

		// An imported bcrypt hash becomes argon2id at the first login.
		bc, err := bcrypt.GenerateFromPassword([]byte(pw2), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b := cur.user(t, tn, directory.NewUser{Email: "b@example.com"})
		if _, err := s.Users().UpdateUser(t.Context(), tn, b.ID, func(u *store.User) error {
			u.PasswordHash = string(bc)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := cur.dir.Authenticate(t.Context(), tn, "b@example.com", pw1); err != directory.ErrInvalidCredentials {
			t.Fatalf("wrong password against bcrypt: %v", err)
		}
		if got, _ := cur.dir.GetUser(t.Context(), tn, b.ID); got.PasswordHash != string(bc) {
			t.Fatal("a failed login replaced the bcrypt hash")
		}
		if _, err := cur.dir.Authenticate(t.Context(), tn, "b@example.com", pw2); err != nil {
			t.Fatal(err)
		}
		if got, _ := cur.dir.GetUser(t.Context(), tn, b.ID); phcParams(t, got.PasswordHash) != "m=1024,t=1,p=1" {
			t.Errorf("bcrypt hash not upgraded: %q", got.PasswordHash)
		}
		// A malformed stored hash is a failed login, not an error.
		if _, err := s.Users().UpdateUser(t.Context(), tn, b.ID, func(u *store.User) error {
			u.PasswordHash = "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := cur.dir.Authenticate(t.Context(), tn, "b@example.com", pw2); err != directory.ErrInvalidCredentials {
			t.Errorf("malformed hash: %v, want ErrInvalidCredentials", err)
		}
	})
}

// TestAuthenticateTiming: an unknown account costs a hash like a wrong
// password does, so timing does not tell whether an account exists. The
// parameters make the hash dominate; medians of interleaved runs absorb
// scheduling noise.
func TestAuthenticateTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	s := sqltest.OpenSQLite(t)
	e := newEnvParams(t, s, credential.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1})
	tn := e.tenant(t, "acme")
	e.user(t, tn, directory.NewUser{Email: "a@example.com", Password: ptr(pw1)})
	bad := e.user(t, tn, directory.NewUser{Email: "bad@example.com"})
	if _, err := s.Users().UpdateUser(t.Context(), tn, bad.ID, func(u *store.User) error {
		u.PasswordHash = "$argon2id$v=19$m=8192,t=1,p=1$bm90LWJhc2U2NCE$AAAA" // key too short to parse
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, id, pw string }{
		{"wrong password", "a@example.com", pw2},
		{"unknown user", "nobody@example.com", pw2},
		{"malformed stored hash", "bad@example.com", pw2},
	}
	const n = 15
	samples := make([][]time.Duration, len(cases))
	for range n {
		for i, c := range cases {
			start := time.Now()
			if _, err := e.dir.Authenticate(t.Context(), tn, c.id, c.pw); err != directory.ErrInvalidCredentials {
				t.Fatalf("%s: %v", c.name, err)
			}
			samples[i] = append(samples[i], time.Since(start))
		}
	}
	medians := make([]time.Duration, len(cases))
	for i, ss := range samples {
		slices.Sort(ss)
		medians[i] = ss[n/2]
	}
	for i, c := range cases[1:] {
		lo, hi := min(medians[0], medians[i+1]), max(medians[0], medians[i+1])
		if hi > 3*lo {
			t.Errorf("median %s %v vs wrong password %v: more than a factor of 3 apart", c.name, medians[i+1], medians[0])
		}
	}
	t.Logf("medians: %v", medians)
}
