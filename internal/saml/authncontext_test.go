package saml

import "testing"

// TestAuthnContextNeedsSecondFactor: the assertion
// claims MobileTwoFactorContract only after a second factor (amr "mfa"),
// not for two first factors or a passkey without user verification.
func TestAuthnContextNeedsSecondFactor(t *testing.T) {
	const two = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
	const pwd = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	for _, c := range []struct {
		amr  []string
		want string
	}{
		{[]string{"pwd"}, pwd},
		{[]string{"pwd", "fed"}, pwd},
		{[]string{"hwk"}, pwd},
		{[]string{"email", "fed"}, pwd},
		{[]string{"pwd", "otp", "mfa"}, two},
		{[]string{"fed", "hwk", "mfa"}, two},
	} {
		if got := authnContextFor(c.amr); got != c.want {
			t.Errorf("authnContextFor(%v) = %q, want %q", c.amr, got, c.want)
		}
	}
}
