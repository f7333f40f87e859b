package ratelimit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit/redistest"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// TestRedisBuckets: the Redis buckets keep the same contract as the
// database's (one Lua script per take, so concurrent takes add up).
func TestRedisBuckets(t *testing.T) {
	r, err := ratelimit.NewRedis(context.Background(), redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	storetest.RateBuckets(t, r, "ta", "tb")
}

// TestRedisUnreachable: a Redis that does not answer fails start-up with
// an error that names no credentials.
func TestRedisUnreachable(t *testing.T) {
	_, err := ratelimit.NewRedis(context.Background(), "redis://:hunter2@127.0.0.1:1/0")
	if err == nil {
		t.Fatal("NewRedis on a closed port: no error")
	}
	if s := err.Error(); strings.Contains(s, "hunter2") {
		t.Fatalf("error leaks the password: %s", s)
	}
}
