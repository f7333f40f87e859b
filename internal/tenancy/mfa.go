package tenancy

import (
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// MFA policies: a tenant's, a client's or a group's.
const (
	MFAOff          = "off"
	MFAOptional     = "optional"
	MFARequired     = "required"
	MFAPasskeysOnly = "passkeys_only"
)

// MFA is a tenant's multi-factor policy. Policy applies to everyone;
// Clients and Groups raise it for logins at a client or for members of a
// group (the strictest that applies wins: off < optional < required <
// passkeys_only).
type MFA struct {
	// Policy is off, optional (the default: users who enrolled a factor
	// are asked for it), required or passkeys_only.
	Policy string `json:"policy"`
	// Clients maps a client id to its policy; Groups a group id to its.
	Clients map[string]string `json:"clients,omitempty"`
	Groups  map[string]string `json:"groups,omitempty"`
	// GraceDays is how long a user created before a policy became required
	// may still log in with a password alone to enrol (0: none).
	GraceDays int `json:"grace_days,omitempty"`
	// RememberDays, when > 0, offers "remember this device" for that many days.
	RememberDays int `json:"remember_days,omitempty"`
	// EmailCode allows an emailed one-time code as a second factor.
	EmailCode bool `json:"email_code,omitempty"`
	// RequireUserVerification makes passkeys prove a PIN or biometric.
	RequireUserVerification bool `json:"require_user_verification,omitempty"`
	// AAGUIDs, when set, is the allow-list of passkey models (attestation
	// is then requested); empty accepts any authenticator, attestation none.
	AAGUIDs []string `json:"aaguids,omitempty"`
	// PasskeyNudgeDays, when > 0, offers passkey enrolment after a
	// password login to users without a passkey, at most once in that many
	// days per user (skippable).
	PasskeyNudgeDays int `json:"passkey_nudge_days,omitempty"`
}

// DefaultMFA is a new tenant's policy: optional.
func DefaultMFA() MFA { return MFA{Policy: MFAOptional} }

// MFARank orders policies; an unknown one ranks as off.
func MFARank(p string) int {
	switch p {
	case MFAOptional:
		return 1
	case MFARequired:
		return 2
	case MFAPasskeysOnly:
		return 3
	}
	return 0
}

func validMFAPolicy(p string) bool {
	return p == MFAOff || p == MFAOptional || p == MFARequired || p == MFAPasskeysOnly
}

// check validates the policy, naming fields under prefix.
func (m *MFA) check(c *valid.Collector, prefix string) {
	if m.Policy == "" {
		m.Policy = MFAOptional
	}
	if !validMFAPolicy(m.Policy) {
		c.Add(prefix+".policy", "invalid", "The policy is one of off, optional, required, passkeys_only.")
	}
	for field, mp := range map[string]map[string]string{"clients": m.Clients, "groups": m.Groups} {
		if len(mp) > 1000 {
			c.Add(prefix+"."+field, "too_long", "At most 1000 entries.")
			continue
		}
		for k, v := range mp {
			if k == "" || len(k) > 128 || !validMFAPolicy(v) {
				c.Add(prefix+"."+field, "invalid", "Each entry maps an id to off, optional, required or passkeys_only.")
				break
			}
		}
	}
	if m.GraceDays < 0 || m.GraceDays > 365 {
		c.Add(prefix+".grace_days", "invalid", "The grace period is 0 to 365 days.")
	}
	if m.RememberDays < 0 || m.RememberDays > 365 {
		c.Add(prefix+".remember_days", "invalid", "Remember this device for 0 to 365 days.")
	}
	if m.PasskeyNudgeDays < 0 || m.PasskeyNudgeDays > 365 {
		c.Add(prefix+".passkey_nudge_days", "invalid", "Offer passkeys at most once in 0 (never) to 365 days.")
	}
	if len(m.AAGUIDs) > 100 {
		c.Add(prefix+".aaguids", "too_long", "At most 100 AAGUIDs.")
	}
	for _, a := range m.AAGUIDs {
		if len(a) != 36 {
			c.Add(prefix+".aaguids", "invalid", "Each AAGUID is a UUID such as 08987058-cadc-4b81-b6e1-30de50dcbe96.")
			break
		}
	}
}
