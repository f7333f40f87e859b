package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func TestDurationsUpTo(t *testing.T) {
	for _, c := range []struct {
		max  time.Duration
		want []string
	}{
		{10 * time.Minute, []string{"10m"}},
		{time.Hour, []string{"15m", "30m", "1h"}},
		{90 * time.Minute, []string{"15m", "30m", "1h", "1h30m"}},
		{2 * time.Hour, []string{"15m", "30m", "1h", "2h"}},
		{7 * 24 * time.Hour, []string{"15m", "30m", "1h", "2h", "4h", "8h", "24h", "168h"}},
		{45 * time.Second, []string{"45s"}},
	} {
		got := durationsUpTo(c.max)
		if !slices.Equal(got, c.want) {
			t.Errorf("durationsUpTo(%s) = %v, want %v", c.max, got, c.want)
		}
		// Every choice is a duration the service accepts, within the cap.
		for _, s := range got {
			if d, err := time.ParseDuration(s); err != nil || d <= 0 || d > c.max {
				t.Errorf("choice %q of %s: %v", s, c.max, err)
			}
		}
	}
}

func TestElevationRefusal(t *testing.T) {
	for _, c := range []struct {
		err    error
		key    string
		status int
	}{
		{valid.Field("duration", "out_of_range", "x"), "account.err_elevation_too_long", http.StatusUnprocessableEntity},
		{valid.Field("duration", "invalid", "x"), "account.err_elevation_duration", http.StatusUnprocessableEntity},
		{valid.Field("reason", "required", "x"), "account.err_elevation_reason", http.StatusUnprocessableEntity},
		{valid.Field("role", "invalid", "x"), "account.err_elevation_not_eligible", http.StatusForbidden},
		{&authz.Refused{Code: "step_up_required"}, "account.err_elevation_mfa", http.StatusForbidden},
		{&authz.Refused{Code: "not_eligible"}, "account.err_elevation_not_eligible", http.StatusForbidden},
		{&authz.Refused{Code: "not_privileged"}, "account.err_elevation_not_eligible", http.StatusForbidden},
		{fmt.Errorf("wrapped: %w", store.ErrNotFound), "account.err_elevation_not_eligible", http.StatusForbidden},
		{errors.New("database is locked"), "", 0},
	} {
		if key, status := elevationRefusal(c.err); key != c.key || status != c.status {
			t.Errorf("elevationRefusal(%v) = %q %d, want %q %d", c.err, key, status, c.key, c.status)
		}
	}
}
