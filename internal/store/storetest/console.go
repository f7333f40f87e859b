package storetest

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var consoleTests = []test{
	{"Console/SetupTokenSingleUse", testSetupTokenSingleUse},
	{"Console/SetupTokenConcurrentConsume", testSetupTokenConcurrent},
	{"Console/ClientPerTenant", testConsoleClient},
}

func setupHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// testSetupTokenSingleUse: a live token peeks without being spent, is
// consumed once, and then, like an unknown or expired one, is not found.
func testSetupTokenSingleUse(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	live := &store.SetupToken{Hash: setupHash("live"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	noErr(t, "CreateSetupToken", s.Console().CreateSetupToken(ctx(t), live))
	wantErr(t, "CreateSetupToken(same hash)", s.Console().CreateSetupToken(ctx(t), live), store.ErrConflict)
	old := &store.SetupToken{Hash: setupHash("old"), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	noErr(t, "CreateSetupToken(expired)", s.Console().CreateSetupToken(ctx(t), old))

	got, err := s.Console().PeekSetupToken(ctx(t), live.Hash, now)
	noErr(t, "PeekSetupToken", err)
	if string(got.Hash) != string(live.Hash) || got.UsedAt != nil || !got.ExpiresAt.Equal(live.ExpiresAt.Truncate(time.Microsecond)) {
		t.Errorf("PeekSetupToken = %+v", got)
	}
	_, err = s.Console().PeekSetupToken(ctx(t), live.Hash, now)
	noErr(t, "PeekSetupToken again (peeking spends nothing)", err)
	got, err = s.Console().ConsumeSetupToken(ctx(t), live.Hash, now)
	noErr(t, "ConsumeSetupToken", err)
	if got.UsedAt == nil {
		t.Errorf("consumed token has no UsedAt")
	}
	_, err = s.Console().ConsumeSetupToken(ctx(t), live.Hash, now)
	wantErr(t, "ConsumeSetupToken(spent)", err, store.ErrNotFound)
	_, err = s.Console().PeekSetupToken(ctx(t), live.Hash, now)
	wantErr(t, "PeekSetupToken(spent)", err, store.ErrNotFound)
	_, err = s.Console().ConsumeSetupToken(ctx(t), old.Hash, now)
	wantErr(t, "ConsumeSetupToken(expired)", err, store.ErrNotFound)
	_, err = s.Console().PeekSetupToken(ctx(t), setupHash("unknown"), now)
	wantErr(t, "PeekSetupToken(unknown)", err, store.ErrNotFound)
	_, err = s.Console().ConsumeSetupToken(ctx(t), nil, now)
	wantErr(t, "ConsumeSetupToken(no hash)", err, store.ErrNotFound)
}

// testSetupTokenConcurrent: of concurrent consumers exactly one wins.
func testSetupTokenConcurrent(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	tok := &store.SetupToken{Hash: setupHash("race"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	noErr(t, "CreateSetupToken", s.Console().CreateSetupToken(ctx(t), tok))
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		wins, other int
	)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Console().ConsumeSetupToken(ctx(t), tok.Hash, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrBusy):
			default:
				other++
				t.Errorf("ConsumeSetupToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d consumers won, want exactly 1", wins)
	}
}

// testConsoleClient: one console client per tenant, recorded once; other
// tenants see none; a missing tenant is not found.
func testConsoleClient(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	_, err := s.Console().ConsoleClient(ctx(t), a)
	wantErr(t, "ConsoleClient(none yet)", err, store.ErrNotFound)
	noErr(t, "SetConsoleClient", s.Console().SetConsoleClient(ctx(t), a, "client-a", time.Now()))
	wantErr(t, "SetConsoleClient(again)", s.Console().SetConsoleClient(ctx(t), a, "client-a2", time.Now()), store.ErrConflict)
	id, err := s.Console().ConsoleClient(ctx(t), a)
	noErr(t, "ConsoleClient", err)
	if id != "client-a" {
		t.Errorf("ConsoleClient = %q, want client-a", id)
	}
	_, err = s.Console().ConsoleClient(ctx(t), b)
	wantErr(t, "ConsoleClient(other tenant)", err, store.ErrNotFound)
	noErr(t, "ForgetConsoleClient(another id)", s.Console().ForgetConsoleClient(ctx(t), a, "client-x"))
	if id, _ := s.Console().ConsoleClient(ctx(t), a); id != "client-a" {
		t.Errorf("forgetting another id removed the record: %q", id)
	}
	noErr(t, "ForgetConsoleClient", s.Console().ForgetConsoleClient(ctx(t), a, "client-a"))
	_, err = s.Console().ConsoleClient(ctx(t), a)
	wantErr(t, "ConsoleClient(forgotten)", err, store.ErrNotFound)
	noErr(t, "SetConsoleClient(after forgetting)", s.Console().SetConsoleClient(ctx(t), a, "client-b", time.Now()))
	wantErr(t, "SetConsoleClient(no tenant)", s.Console().SetConsoleClient(ctx(t), store.TenantID(newID()), "x", time.Now()), store.ErrNotFound)
}
