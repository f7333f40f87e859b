package store

import (
	"context"
	"time"
)

// ConsentPurpose is one version of a tenant's consent purpose (a reason
// the tenant processes personal data that needs the person's consent,
// such as a newsletter). Posting a name again with a new version adds a
// version; the newest version (by creation) is the one users are asked.
// Title and Description map a language to its text.
type ConsentPurpose struct {
	Tenant      TenantID
	Name        string
	Version     string
	Title       map[string]string
	Description map[string]string
	// Required: the person must grant it to use the tenant's applications.
	Required  bool
	CreatedAt time.Time
}

// Consent record states.
const (
	ConsentGranted   = "granted"
	ConsentWithdrawn = "withdrawn"
)

// ConsentRecord is one decision of a user about one version of a purpose:
// records are appended, never changed; a user's newest record of a purpose
// is its current state. How names the way it was given (signup, login,
// account, api, import); IP and UserAgent the browser or client it came
// from.
type ConsentRecord struct {
	Tenant    TenantID
	ID        string
	UserID    string
	Purpose   string
	Version   string
	State     string
	How       string
	IP        string
	UserAgent string
	At        time.Time
}

// Preferences are a user's communication preferences: per channel
// (email, sms, push) and per topic of the tenant, whether the user wants
// messages. A channel or topic absent from the maps was never chosen.
type Preferences struct {
	Tenant    TenantID
	UserID    string
	Channels  map[string]bool
	Topics    map[string]bool
	UpdatedAt time.Time
}

// ConsentCount is how many erased records of one purpose version in one
// state a tenant held: the anonymous proof that consent was collected,
// kept after the people are erased.
type ConsentCount struct {
	Purpose string `json:"purpose"`
	Version string `json:"version"`
	State   string `json:"state"`
	Count   int64  `json:"count"`
}

// ConsentPurposes stores a tenant's consent purposes, the users' consent
// records and communication preferences.
type ConsentPurposes interface {
	// CreatePurpose inserts one version of a purpose; ErrConflict when
	// the tenant has this name and version already.
	CreatePurpose(ctx context.Context, p *ConsentPurpose) error
	// ListPurposes answers the tenant's purposes, ordered by name and,
	// within a name, newest version first; with latest only the newest
	// version of each name.
	ListPurposes(ctx context.Context, tenant TenantID, latest bool) ([]ConsentPurpose, error)
	// GetPurpose answers every version of the named purpose, newest
	// first; ErrNotFound when the tenant has none.
	GetPurpose(ctx context.Context, tenant TenantID, name string) ([]ConsentPurpose, error)

	// AppendConsentRecord stores r (ID and At set by the caller);
	// ErrNotFound when the user does not exist in the tenant.
	AppendConsentRecord(ctx context.Context, r *ConsentRecord) error
	// ListConsentRecords answers every record of the user, oldest first
	// (an unknown user has none).
	ListConsentRecords(ctx context.Context, tenant TenantID, userID string) ([]ConsentRecord, error)

	// MarkAsked records that the user was shown this purpose version and
	// left it undecided (skipped), so it is not asked again.
	MarkAsked(ctx context.Context, tenant TenantID, userID, purpose, version string, at time.Time) error
	// AskedVersions answers, per purpose name, the versions the user
	// skipped.
	AskedVersions(ctx context.Context, tenant TenantID, userID string) (map[string][]string, error)

	// GetPreferences answers the user's preferences (empty maps when
	// never set).
	GetPreferences(ctx context.Context, tenant TenantID, userID string) (*Preferences, error)
	// PutPreferences stores p in place of what the user had; ErrNotFound
	// when the user does not exist.
	PutPreferences(ctx context.Context, p *Preferences) error

	// EraseConsents removes the user's consent records, skipped asks and
	// preferences, adding each record to the tenant's anonymous counts
	// (ConsentCounts) in the same transaction. It answers how many
	// records it removed.
	EraseConsents(ctx context.Context, tenant TenantID, userID string) (int, error)
	// ConsentCounts answers the tenant's counts of erased records.
	ConsentCounts(ctx context.Context, tenant TenantID) ([]ConsentCount, error)
}
