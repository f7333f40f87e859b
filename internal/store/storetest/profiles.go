package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var profileTests = []test{
	{"Profiles/SignInsAndSkips", testProfileProgress},
	{"Profiles/ConcurrentSignIns", testProfileConcurrentSignIns},
}

func testProfileProgress(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	p := s.Profiles()
	got, err := p.GetProfileProgress(ctx(t), tn, alice.ID)
	noErr(t, "GetProfileProgress(none)", err)
	if got.SignIns != 0 || len(got.Skips) != 0 {
		t.Fatalf("fresh progress = %+v", got)
	}
	for want := 1; want <= 2; want++ {
		n, err := p.CountSignIn(ctx(t), tn, alice.ID)
		noErr(t, "CountSignIn", err)
		if n != want {
			t.Fatalf("CountSignIn = %d, want %d", n, want)
		}
	}
	noErr(t, "SkipProfileFields", p.SkipProfileFields(ctx(t), tn, alice.ID, []string{"company", "tier"}))
	_, err = p.CountSignIn(ctx(t), tn, alice.ID)
	noErr(t, "CountSignIn", err)
	noErr(t, "SkipProfileFields", p.SkipProfileFields(ctx(t), tn, alice.ID, []string{"company"}))
	got, err = p.GetProfileProgress(ctx(t), tn, alice.ID)
	noErr(t, "GetProfileProgress", err)
	if got.SignIns != 3 || got.Skips["company"] != (store.ProfileSkip{N: 2, At: 3}) || got.Skips["tier"] != (store.ProfileSkip{N: 1, At: 2}) {
		t.Fatalf("progress = %+v", got)
	}
	// Another tenant sees nothing and cannot count for a user it lacks.
	if got, _ := p.GetProfileProgress(ctx(t), other, alice.ID); got.SignIns != 0 {
		t.Fatalf("other tenant sees %+v", got)
	}
	if _, err := p.CountSignIn(ctx(t), other, alice.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CountSignIn(other tenant) = %v, want ErrNotFound", err)
	}
	if err := p.SkipProfileFields(ctx(t), other, alice.ID, []string{"x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SkipProfileFields(other tenant) = %v, want ErrNotFound", err)
	}
	// The row goes with the user.
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), tn, alice.ID))
	if got, _ := p.GetProfileProgress(ctx(t), tn, alice.ID); got.SignIns != 0 {
		t.Fatalf("after delete: %+v", got)
	}
}

func testProfileConcurrentSignIns(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "busy")
	const n = 8
	var wg sync.WaitGroup
	seen := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Profiles().CountSignIn(ctx(t), tn, u.ID)
			if err != nil {
				t.Errorf("CountSignIn: %v", err)
			}
			seen <- c
		}()
	}
	wg.Wait()
	close(seen)
	got := map[int]bool{}
	for c := range seen {
		got[c] = true
	}
	if len(got) != n || !got[1] || !got[n] {
		t.Fatalf("concurrent counts = %v, want 1..%d each once", got, n)
	}
}
