// Package userimport moves users in and out of a tenant in bulk: it reads
// our CSV and JSONL and the export formats of Auth0, Keycloak, Firebase
// and Cognito, writes them in batched transactions that a crashed run
// resumes, and writes the same records back out for a tenant that leaves.
// Password hashes are stored as they come (internal/credential verifies
// them at the next login and replaces them with argon2id).
package userimport

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Record is one user as a source describes it, before validation.
type Record struct {
	// Line is where the record starts in the source (1-based). For the
	// single-document JSON formats (Keycloak, Firebase) it is the record's
	// position in the users array.
	Line          int64
	ExternalID    string
	Email         string
	EmailVerified bool
	Username      string
	GivenName     string
	FamilyName    string
	Phone         string
	PhoneVerified bool
	Locale        string
	Disabled      bool
	// PasswordHash is stored as given once credential.ValidateHash accepts it.
	PasswordHash string
	Groups       []string
	Roles        []string
	CreatedAt    time.Time
	LastLoginAt  time.Time
	Attributes   map[string]any
	// TOTPSecret is a base32 TOTP seed (SHA-1, 6 digits, 30 s), sealed on
	// arrival.
	TOTPSecret string
	Identities []Identity
}

// Identity is a link to an upstream account: Connection names a
// connection of the tenant, Subject the account there.
type Identity struct {
	Connection string `json:"connection"`
	Subject    string `json:"subject"`
	Email      string `json:"email,omitempty"`
}

// Source yields records in order; Next answers io.EOF after the last. An
// error wrapping *RecordError rejects that record only and reading goes
// on; any other error ends the import.
type Source interface {
	Next() (Record, error)
}

// RecordError is a record the source could not read.
type RecordError struct {
	Line int64
	Err  error
}

func (e *RecordError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Formats are the names --format takes.
var Formats = []string{"csv", "jsonl", "auth0", "keycloak", "firebase", "cognito"}

// FirebaseParams are a Firebase project's password hash parameters (from
// the console's "Password hash parameters"), needed to verify its hashes.
type FirebaseParams struct {
	SignerKey     string
	SaltSeparator string
	Rounds        int
	MemCost       int
}

// Options parameterise NewSource.
type Options struct {
	Firebase FirebaseParams
}

// NewSource reads r in format. It fails only for an unknown format or a
// document whose outer shape is wrong.
func NewSource(format string, r io.Reader, o Options) (Source, error) {
	switch format {
	case "csv":
		return newCSV(r, ourCSV)
	case "cognito":
		return newCSV(r, cognitoCSV)
	case "jsonl":
		return newLines(r, parseOurJSON), nil
	case "auth0":
		return newLines(r, parseAuth0), nil
	case "keycloak":
		return newDoc(r, parseKeycloak)
	case "firebase":
		if o.Firebase.SignerKey == "" {
			return nil, errors.New("firebase: the project's hash parameters are needed (signer key, salt separator, rounds, mem cost)")
		}
		return newDoc(r, func(raw []byte) (Record, error) { return parseFirebase(raw, o.Firebase) })
	}
	return nil, fmt.Errorf("unknown format %q (one of %s)", format, strings.Join(Formats, ", "))
}

// splitList splits our ";"-separated group and role lists.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseTime accepts RFC 3339 and Unix milliseconds (as Firebase and
// Keycloak write them); "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	var ms int64
	if _, err := fmt.Sscanf(s, "%d", &ms); err == nil && fmt.Sprint(ms) == s {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("bad time %q (RFC 3339 or Unix milliseconds)", s)
}

func parseBool(field, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%s must be true or false, not %q", field, s)
}
