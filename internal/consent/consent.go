// Package consent holds a tenant's consent purposes and each user's
// consent records and communication preferences: purposes are versioned,
// records are appended (the newest of a purpose is its state), and every
// change is audited (consent.granted, consent.withdrawn,
// preferences.changed) in the change's transaction. The login step that
// asks for purposes (internal/flow), the sign-up form, the account page
// and the API all record through this service. It knows nothing of HTTP.
package consent

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Ways a record was given (ConsentRecord.How).
const (
	HowSignup  = "signup"
	HowLogin   = "login"
	HowAccount = "account"
	HowAPI     = "api"
	HowImport  = "import"
)

var hows = []string{HowSignup, HowLogin, HowAccount, HowAPI, HowImport}

// Reserved purposes record a person's exercise of a right, not a consent
// the tenant asks for: "granted" means the request is in force. A tenant
// cannot define purposes under these names (nor any name with a dot).
const (
	// DoNotSell is the CCPA/CPRA opt-out of sale and sharing
	// (Cal. Civ. Code 1798.120, 1798.135).
	DoNotSell = "ccpa.do_not_sell"
	// ObjectProfiling is the GDPR Art. 21 objection to profiling.
	ObjectProfiling = "gdpr.object_profiling"
)

// Reserved lists the reserved purposes.
var Reserved = []string{DoNotSell, ObjectProfiling}

// Audit actions; the events catalogue maps these names, so they are fixed.
const (
	ActionGranted     = "consent.granted"
	ActionWithdrawn   = "consent.withdrawn"
	ActionPreferences = "preferences.changed"
)

// Limits of the inputs.
const (
	maxText        = 200
	maxDescription = 2000
	maxUserAgent   = 512
)

var (
	purposeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	versionRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)
)

// Service manages purposes, records and preferences.
type Service struct {
	Store store.Store
	Audit *events.Recorder
	Now   func() time.Time
}

// NewPurpose is the body of POST .../consent-purposes.
type NewPurpose struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Title       map[string]string `json:"title"`
	Description map[string]string `json:"description"`
	Required    bool              `json:"required"`
}

// Purpose is a purpose version as the API shows it.
type Purpose struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Title       map[string]string `json:"title"`
	Description map[string]string `json:"description"`
	Required    bool              `json:"required"`
	CreatedAt   time.Time         `json:"created_at"`
}

// View is p as the API shows it.
func View(p store.ConsentPurpose) Purpose {
	return Purpose{Name: p.Name, Version: p.Version, Title: nonNil(p.Title), Description: nonNil(p.Description),
		Required: p.Required, CreatedAt: p.CreatedAt}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Text is p's text of m in lang, else English, else any; "" when none.
func Text(m map[string]string, lang string) string {
	if s := m[lang]; s != "" {
		return s
	}
	if s := m["en"]; s != "" {
		return s
	}
	for _, l := range i18n.Tags() {
		if s := m[l.String()]; s != "" {
			return s
		}
	}
	return ""
}

// CreatePurpose stores a purpose version: a new name, or a new version of
// an existing name (which users are then asked at their next sign-in).
// Validation errors name the field; the same name and version again is a
// *valid.Conflict on version.
func (s *Service) CreatePurpose(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewPurpose) (*Purpose, error) {
	var c valid.Collector
	switch {
	case in.Name == "":
		c.Add("name", "required", "A purpose needs a name.")
	case slices.Contains(Reserved, in.Name):
		c.Add("name", "reserved", "This name is reserved for a right the account page records itself.")
	case !purposeName.MatchString(in.Name):
		c.Add("name", "invalid", "A name is 1 to 40 characters: lower-case letters, digits, '_' and '-'.")
	}
	switch {
	case in.Version == "":
		c.Add("version", "required", "A purpose needs a version (for example 2026-12).")
	case !versionRE.MatchString(in.Version):
		c.Add("version", "invalid", "A version is 1 to 40 characters: letters, digits, '.', '_' and '-'.")
	}
	checkTexts(&c, "title", in.Title, maxText, true)
	checkTexts(&c, "description", in.Description, maxDescription, false)
	if err := c.Err(); err != nil {
		return nil, err
	}
	p := &store.ConsentPurpose{Tenant: tenant, Name: in.Name, Version: in.Version, Title: in.Title,
		Description: in.Description, Required: in.Required, CreatedAt: s.Now().UTC().Truncate(time.Microsecond)}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Purposes().CreatePurpose(ctx, p); err != nil {
			return conflict("version", err)
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "consent_purpose.create",
			TargetType: "consent_purpose", TargetID: p.Name, Changes: events.Changes{
				"name": {After: p.Name}, "version": {After: p.Version}, "required": {After: p.Required}}})
	})
	if err != nil {
		return nil, err
	}
	v := View(*p)
	return &v, nil
}

// checkTexts checks a map of language to text: supported languages only,
// English needed when required, each text 1..max characters.
func checkTexts(c *valid.Collector, field string, m map[string]string, max int, required bool) {
	if required && m["en"] == "" {
		c.Add(field+".en", "required", "An English text is needed (the fallback for every language).")
	}
	for lang, s := range m {
		switch {
		case !i18n.Supported(lang):
			c.Add(field+"."+lang, "unsupported", "Texts are given for the supported languages (en, de, es).")
		case s == "" || len([]rune(s)) > max:
			c.Add(field+"."+lang, "invalid", fmt.Sprintf("A text is 1 to %d characters.", max))
		}
	}
}

// ListPurposes answers the tenant's purposes: the newest version of each,
// or every version with all.
func (s *Service) ListPurposes(ctx context.Context, tenant store.TenantID, all bool) ([]Purpose, error) {
	ps, err := s.Store.Purposes().ListPurposes(ctx, tenant, !all)
	if err != nil {
		return nil, err
	}
	out := make([]Purpose, len(ps))
	for i, p := range ps {
		out[i] = View(p)
	}
	return out, nil
}

// GetPurpose answers the named purpose's newest version and, in Versions,
// every version newest first; store.ErrNotFound when there is none.
func (s *Service) GetPurpose(ctx context.Context, tenant store.TenantID, name string) (*PurposeVersions, error) {
	if !purposeName.MatchString(name) {
		return nil, store.ErrNotFound
	}
	ps, err := s.Store.Purposes().GetPurpose(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	out := &PurposeVersions{Purpose: View(ps[0])}
	for _, p := range ps {
		out.Versions = append(out.Versions, View(p))
	}
	return out, nil
}

// PurposeVersions is a purpose's newest version with all its versions.
type PurposeVersions struct {
	Purpose
	Versions []Purpose `json:"versions"`
}

// newID is a UUIDv7.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
