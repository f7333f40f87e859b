package credential

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Policy is a tenant's password policy following NIST SP 800-63B: length
// limits, a blocklist of common and repetitive passwords, and refusal of
// passwords built from the user's identifiers. There are deliberately no
// composition rules (character classes) and no expiry.
type Policy struct {
	// MinLength is the minimum length in code points; at least 8.
	MinLength int `json:"min_length"`
	// MaxLength is the maximum length in code points; 64..1024.
	MaxLength int `json:"max_length"`
	// RejectCommon enables the common-password and repetition checks.
	RejectCommon bool `json:"reject_common"`
}

// Policy bounds (code points).
const (
	minMinLength = 8
	minMaxLength = 64
	maxMaxLength = 1024
)

// Stable PolicyError reasons.
const (
	ReasonTooShort           = "too_short"
	ReasonTooLong            = "too_long"
	ReasonCommon             = "common"
	ReasonContainsIdentifier = "contains_identifier"
	ReasonRepetitive         = "repetitive"
	ReasonInvalid            = "invalid"
)

// DefaultPolicy returns the recommended policy: 8 to 128 code points with
// common-password rejection. It never fails.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, MaxLength: 128, RejectCommon: true}
}

// ErrInvalidPolicy is wrapped by the error Policy.Validate returns.
var ErrInvalidPolicy = errors.New("credential: invalid password policy")

// Validate reports whether p may be stored for a tenant. It returns nil, or
// an error wrapping ErrInvalidPolicy that names the offending JSON field:
// min_length must be at least 8; max_length must be at least 64, at least
// min_length, and at most 1024.
func (p Policy) Validate() error {
	switch {
	case p.MinLength < minMinLength:
		return fmt.Errorf("%w: min_length must be at least %d, got %d", ErrInvalidPolicy, minMinLength, p.MinLength)
	case p.MaxLength < minMaxLength:
		return fmt.Errorf("%w: max_length must be at least %d, got %d", ErrInvalidPolicy, minMaxLength, p.MaxLength)
	case p.MaxLength < p.MinLength:
		return fmt.Errorf("%w: max_length (%d) must be at least min_length (%d)", ErrInvalidPolicy, p.MaxLength, p.MinLength)
	case p.MaxLength > maxMaxLength:
		return fmt.Errorf("%w: max_length must be at most %d, got %d", ErrInvalidPolicy, maxMaxLength, p.MaxLength)
	}
	return nil
}

// limits returns the length bounds Check enforces. An invalid policy is
// clamped into the Validate bounds so it can never weaken the NIST floor;
// a zero MaxLength means the default (128).
func (p Policy) limits() (lo, hi int) {
	lo = max(p.MinLength, minMinLength)
	hi = p.MaxLength
	if hi == 0 {
		hi = DefaultPolicy().MaxLength
	}
	hi = min(max(hi, lo, minMaxLength), maxMaxLength)
	return min(lo, hi), hi
}

// PolicyError explains why Policy.Check refused a password.
type PolicyError struct {
	// Reason is a stable machine-readable code, one of the Reason* constants.
	Reason string
	// Message is a sentence suitable for showing to the end user.
	Message string
}

// Error returns "credential: password <reason>: <message>".
func (e *PolicyError) Error() string {
	return "credential: password " + e.Reason + ": " + e.Message
}

// Check applies p to password and returns nil if it is acceptable, or a
// *PolicyError (never any other error type) describing the first problem
// found, in this order: invalid (not valid UTF-8, or contains NUL or another
// control character), too_short / too_long (code points after NFKC
// normalisation), contains_identifier, and, when RejectCommon is set, common
// and repetitive.
//
// identifiers are the user's own values (email, its local part, username,
// given and family name). Empty ones are ignored. The password is refused if
// it equals one of them, or, for identifiers of 4 or more code points,
// contains one, ignoring case. For an email, its local part and the
// local part's dot/dash/underscore/plus separated words are also used.
//
// Check assumes p passed Validate; if not, lengths are clamped into the
// Validate bounds, so at least 8 code points are always required.
func (p Policy) Check(password string, identifiers ...string) error {
	if !utf8.ValidString(password) {
		return &PolicyError{ReasonInvalid, "Your password contains characters that can't be used."}
	}
	lo, hi := p.limits()
	if len(password) > MaxPasswordBytes {
		return &PolicyError{ReasonTooLong, fmt.Sprintf("Use no more than %d characters.", hi)}
	}
	pw := norm.NFKC.String(password)
	if strings.ContainsFunc(pw, unicode.IsControl) {
		return &PolicyError{ReasonInvalid, "Your password contains characters that can't be used."}
	}
	switch n := utf8.RuneCountInString(pw); {
	case n < lo:
		return &PolicyError{ReasonTooShort, fmt.Sprintf("Use at least %d characters.", lo)}
	case n > hi:
		return &PolicyError{ReasonTooLong, fmt.Sprintf("Use no more than %d characters.", hi)}
	}
	lower := strings.ToLower(pw)
	if containsIdentifier(lower, identifiers) {
		return &PolicyError{ReasonContainsIdentifier, "Don't use your name, username or email address in your password."}
	}
	if p.RejectCommon {
		if isCommon(lower) {
			return &PolicyError{ReasonCommon, "This password is too common. Choose one that is harder to guess."}
		}
		if isRepetitive(lower) {
			return &PolicyError{ReasonRepetitive, `Avoid repeated characters and simple sequences like "aaaa" or "1234".`}
		}
	}
	return nil
}

// containsIdentifier reports whether lower (a lowercased NFKC password)
// equals any identifier or contains one of 4+ code points.
func containsIdentifier(lower string, identifiers []string) bool {
	var ids []string
	for _, id := range identifiers {
		id = strings.ToLower(norm.NFKC.String(strings.TrimSpace(id)))
		ids = append(ids, id)
		if at := strings.LastIndexByte(id, '@'); at > 0 {
			local := id[:at]
			ids = append(ids, local)
			ids = append(ids, strings.FieldsFunc(local, func(r rune) bool {
				return r == '.' || r == '-' || r == '_' || r == '+'
			})...)
		}
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if lower == id || utf8.RuneCountInString(id) >= 4 && strings.Contains(lower, id) {
			return true
		}
	}
	return false
}
