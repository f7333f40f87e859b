package replica

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// fakeReplica is a store whose status the test sets. Only the identity of
// the store matters to Do, so the embedded interface stays nil.
type fakeReplica struct {
	store.Store
	st  Status
	err error
}

func (f *fakeReplica) ReplicaStatus(context.Context) (Status, error) { return f.st, f.err }

type fakePrimary struct{ store.Store }

// TestReads: the replica takes reads only while healthy and the context
// allows it; a failure moves reads to the primary, store answers do not.
func TestReads(t *testing.T) {
	ctx := context.Background()
	prim, rep := &fakePrimary{}, &fakeReplica{}
	r := &Reads{Primary: prim, Replica: rep}
	which := func(ctx context.Context, fail error) (string, error) {
		var got []string
		err := r.Do(ctx, func(s store.Repos) error {
			if s == store.Repos(rep) {
				got = append(got, "replica")
				return fail
			}
			got = append(got, "primary")
			return nil
		})
		return fmt.Sprint(got), err
	}
	if got, _ := which(ctx, nil); got != "[primary]" {
		t.Errorf("before the first check: %s", got)
	}
	if !r.Check(ctx) {
		t.Fatal("a caught-up replica is unhealthy")
	}
	if got, _ := which(ctx, nil); got != "[replica]" {
		t.Errorf("healthy: %s", got)
	}
	if got, _ := which(WithPrimary(ctx), nil); got != "[primary]" {
		t.Errorf("WithPrimary: %s", got)
	}
	if got, err := which(ctx, fmt.Errorf("wrapped: %w", store.ErrNotFound)); got != "[replica]" || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a store answer: %s %v", got, err)
	}
	if got, err := which(ctx, errors.New("connection refused")); got != "[replica primary]" || err != nil {
		t.Errorf("a failure: %s %v", got, err)
	}
	if r.Healthy() {
		t.Error("still healthy after a failure")
	}
	for name, c := range map[string]struct {
		st   Status
		err  error
		want bool
	}{
		"lagging":  {Status{Lag: 3 * time.Second}, nil, false},
		"paused":   {Status{Paused: true}, nil, false},
		"down":     {Status{}, errors.New("refused"), false},
		"in range": {Status{Lag: time.Second}, nil, true},
	} {
		rep.st, rep.err = c.st, c.err
		if got := r.Check(ctx); got != c.want || r.Healthy() != c.want {
			t.Errorf("%s: Check = %v, want %v", name, got, c.want)
		}
	}
	var none *Reads
	if none.Healthy() || none.Check(ctx) {
		t.Error("a nil Reads is healthy")
	}
}
