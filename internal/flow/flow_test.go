package flow

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestDelayFor(t *testing.T) {
	for n, want := range map[int]time.Duration{
		0: 0, 1: 0, freeAttempts: 0,
		freeAttempts + 1: 2 * time.Second, freeAttempts + 2: 4 * time.Second, freeAttempts + 3: 8 * time.Second,
		lockAfter - 1: time.Duration(1<<(lockAfter-1-freeAttempts)) * time.Second,
		lockAfter:     lockFor, lockAfter + 50: lockFor,
	} {
		if got := delayFor(n); got != want {
			t.Errorf("delayFor(%d) = %v, want %v", n, got, want)
		}
	}
	// The delay grows with every failure until the lock.
	for n := freeAttempts + 1; n < lockAfter; n++ {
		if delayFor(n+1) <= delayFor(n) {
			t.Errorf("delay does not grow from %d to %d failures", n, n+1)
		}
	}
}

func TestReusable(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := &Service{Now: func() time.Time { return now }}
	sess := &store.Session{AuthTime: now.Add(-10 * time.Minute)}
	minute, hour := time.Minute, time.Hour
	for name, c := range map[string]struct {
		ar   store.LoginRequest
		want bool
	}{
		"plain":                 {store.LoginRequest{}, true},
		"prompt=login":          {store.LoginRequest{Prompt: []string{"login"}}, false},
		"prompt=select_account": {store.LoginRequest{Prompt: []string{"select_account"}}, false},
		"prompt=consent":        {store.LoginRequest{Prompt: []string{"consent"}}, true},
		"max_age older":         {store.LoginRequest{MaxAge: &minute}, false},
		"max_age within":        {store.LoginRequest{MaxAge: &hour}, true},
	} {
		if got := s.Reusable(&c.ar, sess); got != c.want {
			t.Errorf("%s: Reusable = %v, want %v", name, got, c.want)
		}
	}
	if s.Reusable(&store.LoginRequest{}, nil) {
		t.Error("no session is reusable")
	}
}
