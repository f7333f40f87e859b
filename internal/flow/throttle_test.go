package flow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const victimPassword = "correct horse battery staple"

// throttleFixture is a tenant with one user (the victim), a flow with a
// master key, and a clock the test moves.
type throttleFixture struct {
	s   *Service
	tn  store.TenantID
	u   *store.User
	mu  sync.Mutex
	now time.Time
}

func (f *throttleFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *throttleFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newThrottleFixture(t *testing.T, s store.Store) *throttleFixture {
	t.Helper()
	ctx := t.Context()
	hasher, err := credential.NewHasher(credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &throttleFixture{now: time.Now().Truncate(time.Second)}
	dir := &directory.Service{Store: s, Hasher: hasher, Audit: &events.Recorder{Now: f.clock}, Now: f.clock}
	f.s = &Service{Store: s, Directory: dir, Now: f.clock, MasterKey: []byte("0123456789abcdef0123456789abcdef")}
	id := uuid.Must(uuid.NewV7()).String()
	f.tn = store.TenantID(id)
	if err := s.Tenants().CreateTenant(ctx, &store.Tenant{ID: f.tn, Slug: "t-" + id[len(id)-12:], Name: "T"}); err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash(victimPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.u = &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: f.tn, Email: "victim@example.com", EmailNorm: "victim@example.com",
		Status: store.UserActive, EmailVerified: true, PasswordHash: hash, CreatedAt: f.now.Add(-time.Hour)}
	if err := s.Users().CreateUser(ctx, f.u); err != nil {
		t.Fatal(err)
	}
	return f
}

// try is one password attempt of ctx from ip; a solver answers the
// challenges it meets (as a determined attacker would), once per attempt.
func (f *throttleFixture) try(ctx context.Context, password, ip string, solve bool) error {
	_, err := f.trySolving(ctx, password, ip, solve)
	return err
}

// trySolving is try that also reports whether it met a challenge.
func (f *throttleFixture) trySolving(ctx context.Context, password, ip string, solve bool) (bool, error) {
	_, err := f.s.CheckPassword(ctx, f.tn, "victim@example.com", password, ip)
	var ch *ChallengeError
	if !errors.As(err, &ch) || !solve {
		return ch != nil, err
	}
	ctx = WithChallengeAnswer(ctx, ch.Challenge, Solve(ch.Challenge, ch.Bits))
	_, err = f.s.CheckPassword(ctx, f.tn, "victim@example.com", password, ip)
	return true, err
}

// TestLockoutAttackerSlowedOwnerServed: an attacker at one address sends
// 1,000 wrong passwords for the victim, one every second of a clock the
// test moves (1,000 s, about 17 minutes), solving every challenge it
// meets. Throughout, the victim's right password succeeds from another
// address and from a remembered device at the attacker's own address,
// while the attacker gets a few dozen passwords checked.
func TestLockoutAttackerSlowedOwnerServed(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		const attacker, elsewhere = "198.51.100.7", "203.0.113.9"
		// The victim signed in once from a browser, which got its device
		// cookie; that browser is now at the attacker's address.
		if err := f.try(ctx, victimPassword, "192.0.2.1", false); err != nil {
			t.Fatalf("first sign-in: %v", err)
		}
		cookie, err := f.s.RecognizeSource(ctx, f.tn, f.u.ID, "192.0.2.1")
		if err != nil || cookie == "" {
			t.Fatalf("RecognizeSource = %q, %v", cookie, err)
		}
		device := WithDeviceCookie(ctx, cookie)

		checked, throttled, challenged := 0, 0, 0
		deadline := time.Now().Add(2 * time.Minute)
		for i := range 1000 {
			if time.Now().After(deadline) {
				t.Fatalf("attack loop ran out of time after %d attempts", i)
			}
			met, err := f.trySolving(ctx, "wrong password", attacker, true)
			if met {
				challenged++
			}
			var ch *ChallengeError
			var th *ThrottledError
			switch {
			case errors.Is(err, ErrInvalidCredentials):
				checked++
			case errors.As(err, &ch):
				t.Fatalf("attempt %d: a solved challenge was refused: %v", i, err)
			case errors.As(err, &th):
				throttled++
			default:
				t.Fatalf("attempt %d: %v", i, err)
			}
			if i%50 == 0 {
				if err := f.try(ctx, victimPassword, elsewhere, false); err != nil {
					t.Fatalf("victim from another address during attempt %d: %v", i, err)
				}
				if err := f.try(device, victimPassword, attacker, false); err != nil {
					t.Fatalf("victim's remembered device at the attacker's address during attempt %d: %v", i, err)
				}
			}
			f.advance(time.Second)
		}
		// Schedule: 3 free, then 2, 4, 8, 16, 32 s, then one a minute
		// (each with a challenge from the tenth on): about 7 + 16 in 1,000 s.
		span := 1000 * time.Second
		perMinute := float64(checked) / span.Minutes()
		t.Logf("attacker: %d of 1000 wrong passwords checked over %v (%.2f/min); %d refused with a wait; %d challenges solved",
			checked, span, perMinute, throttled, challenged)
		if checked > 25 || checked < 10 {
			t.Errorf("attacker had %d passwords checked in %v, want 10..25 (one a minute after the first few)", checked, span)
		}
		// The attacker's address meets a challenge, not a lock: a solved
		// one is what let the later guesses through.
		f.advance(maxDelay)
		var ch *ChallengeError
		if err := f.try(ctx, "wrong password", attacker, false); !errors.As(err, &ch) {
			t.Errorf("unsolved attempt after the attack = %v, want a challenge", err)
		}
	})
}

// TestOldLockoutAttackHarmless: ten wrong passwords from one address, the
// attack that used to lock the account for everyone, leave the owner's
// right password working from any other address at once.
func TestOldLockoutAttackHarmless(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		for range 10 {
			_ = f.try(ctx, "wrong password", "198.51.100.7", false)
			f.advance(10 * time.Second)
		}
		for _, ip := range []string{"203.0.113.9", "2001:db8:5::1", ""} {
			if err := f.try(ctx, victimPassword, ip, false); err != nil {
				t.Errorf("owner from %q after ten wrong passwords from elsewhere: %v", ip, err)
			}
		}
	})
}

// TestThrottleSourceNetworks: IPv6 addresses of one /64 count as one
// source, of another /64 as another; an IPv4-mapped address is its IPv4.
func TestThrottleSourceNetworks(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7": "192.0.2.7", "::ffff:192.0.2.7": "192.0.2.7",
		"2001:db8:1:2::1": "2001:db8:1:2::/64", "2001:db8:1:2:ffff::9": "2001:db8:1:2::/64",
		"fe80::1%eth0": "fe80::/64", "": "", "not an address": "",
	} {
		if got := SourceNetwork(ip); got != want {
			t.Errorf("SourceNetwork(%q) = %q, want %q", ip, got, want)
		}
	}
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		for i := range 4 {
			_ = f.try(ctx, "wrong password", "2001:db8:1:2::"+string(rune('a'+i)), false)
		}
		var th *ThrottledError
		if err := f.try(ctx, victimPassword, "2001:db8:1:2::ff", false); !errors.As(err, &th) {
			t.Errorf("another address of the same /64 = %v, want throttled", err)
		}
		if err := f.try(ctx, victimPassword, "2001:db8:1:3::1", false); err != nil {
			t.Errorf("another /64 = %v", err)
		}
	})
}

// TestDistributedGuessingMeetsChallenge: guesses spread over many
// addresses pass the account's ceiling; then a new address needs a
// challenge, while a network the owner signed in from does not.
func TestDistributedGuessingMeetsChallenge(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		if err := f.try(ctx, victimPassword, "192.0.2.1", false); err != nil { // the owner's home network
			t.Fatal(err)
		}
		for i := range accountChallengeAt {
			ip := "198.51.100." + itoa(i+1)
			if err := f.try(ctx, "wrong password", ip, false); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("guess %d from %s: %v", i, ip, err)
			}
		}
		var ch *ChallengeError
		if err := f.try(ctx, victimPassword, "203.0.113.9", false); !errors.As(err, &ch) {
			t.Fatalf("new address past the account's ceiling = %v, want a challenge", err)
		}
		if err := f.try(ctx, victimPassword, "203.0.113.9", true); err != nil {
			t.Fatalf("new address with the challenge solved = %v", err)
		}
		if err := f.try(ctx, victimPassword, "192.0.2.1", false); err != nil {
			t.Fatalf("owner's known network = %v", err)
		}
	})
}

// TestChallengeAnswers: an answer holds once, for its account and network
// only; a forged or unsolved one is refused.
func TestChallengeAnswers(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		now := f.clock()
		err := f.s.newChallenge(f.tn, "acct-user:"+f.u.ID, "198.51.100.7", now, 0)
		var ch *ChallengeError
		if !errors.As(err, &ch) {
			t.Fatalf("newChallenge = %v", err)
		}
		sol := Solve(ch.Challenge, ch.Bits)
		check := func(acct, network, challenge, solution string) error {
			return f.s.checkAnswer(WithChallengeAnswer(ctx, challenge, solution), f.tn, acct, network, now)
		}
		acct := "acct-user:" + f.u.ID
		if err := check(acct, "198.51.100.8", ch.Challenge, sol); err == nil {
			t.Error("answer accepted for another network")
		}
		if err := check("acct:other@example.com", "198.51.100.7", ch.Challenge, sol); err == nil {
			t.Error("answer accepted for another account")
		}
		if Solves(ch.Challenge, sol, ch.Bits) {
			bad := "0"
			for Solves(ch.Challenge, bad, ch.Bits) {
				bad += "0"
			}
			if err := check(acct, "198.51.100.7", ch.Challenge, bad); err == nil {
				t.Error("unsolved answer accepted")
			}
		}
		forged := ch.Challenge[:len(ch.Challenge)-4] + "AAAA"
		if err := check(acct, "198.51.100.7", forged, Solve(forged, ch.Bits)); err == nil {
			t.Error("forged challenge accepted")
		}
		if err := check(acct, "198.51.100.7", ch.Challenge, sol); err != nil {
			t.Errorf("right answer = %v", err)
		}
		if err := check(acct, "198.51.100.7", ch.Challenge, sol); err == nil {
			t.Error("answer accepted twice")
		}
	})
}

// TestDeviceCookie: a device cookie works only for its user, and a
// stolen one stops helping after deviceFailLimit wrong passwords.
func TestDeviceCookie(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		f := newThrottleFixture(t, s)
		ctx := t.Context()
		cookie, err := f.s.RecognizeSource(ctx, f.tn, f.u.ID, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.s.RecognizeSource(WithDeviceCookie(ctx, cookie), f.tn, f.u.ID, "192.0.2.1")
		if err != nil || again != cookie {
			t.Fatalf("second sign-in on the device: %q, %v; want the same cookie", again, err)
		}
		now := f.clock()
		if f.s.knownDevice(WithDeviceCookie(ctx, cookie), f.tn, "someone-else", now) != "" {
			t.Error("device known for another user")
		}
		if f.s.knownDevice(WithDeviceCookie(ctx, cookie+"x"), f.tn, f.u.ID, now) != "" {
			t.Error("altered cookie accepted")
		}
		device := WithDeviceCookie(ctx, cookie)
		for range deviceFailLimit {
			_ = f.try(device, "wrong password", "198.51.100.7", false)
		}
		// Ten failures through the device: it is one more stranger, and
		// the address has its own (untouched) count: free attempts left.
		if f.s.knownDevice(device, f.tn, f.u.ID, now) == "" {
			t.Fatal("device forgotten by failures (it should only lose its pass)")
		}
		a, err := f.s.admit(device, f.tn, "acct-user:"+f.u.ID, f.u.ID, "198.51.100.7")
		if err != nil || a.trusted {
			t.Fatalf("admit after %d failures through the device: trusted=%v, %v", deviceFailLimit, a != nil && a.trusted, err)
		}
		if err := f.s.ForgetSources(ctx, f.tn, f.u.ID); err != nil {
			t.Fatal(err)
		}
		if f.s.knownDevice(device, f.tn, f.u.ID, now) != "" {
			t.Error("device known after ForgetSources")
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
