package oidc

import "testing"

// TestACRNeedsSecondFactor: acr "mfa" only when the
// login passed a second factor (amr holds "mfa"); two first factors
// (password and upstream) or a passkey without user verification are
// acr "1".
func TestACRNeedsSecondFactor(t *testing.T) {
	for _, c := range []struct {
		amr  []string
		want string
	}{
		{nil, "1"},
		{[]string{"pwd"}, "1"},
		{[]string{"pwd", "fed"}, "1"},
		{[]string{"hwk"}, "1"},
		{[]string{"hwk", "pwd"}, "1"},
		{[]string{"pwd", "otp", "mfa"}, "mfa"},
		{[]string{"hwk", "user", "mfa"}, "mfa"},
	} {
		if got := acrFor(c.amr); got != c.want {
			t.Errorf("acrFor(%v) = %q, want %q", c.amr, got, c.want)
		}
	}
}
