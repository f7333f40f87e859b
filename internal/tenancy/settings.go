package tenancy

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/risk"
)

// Settings is a tenant's policy document, stored as JSON on the tenant.
type Settings struct {
	PasswordPolicy credential.Policy `json:"password_policy"`
	// Branding is the tenant's look on pages and mails (branding.go).
	Branding branding.Branding `json:"branding"`
	// DefaultLocale is the pages' and mails' language when neither
	// ui_locales nor the browser names a supported one ("" = English).
	DefaultLocale string `json:"default_locale,omitempty"`
	// SelfService is the customer self-service policy (selfservice.go).
	SelfService SelfService `json:"self_service"`
	// ProfileAttributes are the user attributes (top-level string keys)
	// users fill in and edit on the account page (progressive profile).
	ProfileAttributes []string `json:"profile_attributes,omitempty"`
	// MFA is the multi-factor policy (mfa.go).
	MFA MFA `json:"mfa"`
	// LDAP is the policy of the LDAP interface (user binds allowed or not).
	LDAP LDAPSettings `json:"ldap"`
	// ManagedByConfig says the tenant is managed as code (gatehouse config
	// apply): the console marks its objects as managed, and changes made
	// there show as drift in the next plan.
	ManagedByConfig bool `json:"managed_by_config,omitempty"`
	// Notices is the policy of account notices and announcement mails
	// (notices.go).
	Notices Notices `json:"notices"`
	// RateLimits are the tenant's request rates per surface (ratelimits.go).
	RateLimits RateLimits `json:"rate_limits,omitzero"`
	// Privacy is the data-protection policy: retention and request
	// deadlines (privacy.go).
	Privacy Privacy `json:"privacy,omitzero"`
	// Risk is the adaptive-authentication policy: thresholds per tenant
	// and client, the support message of a blocked sign-in (internal/risk).
	Risk risk.Policy `json:"risk"`
	// ProfileSchema is the typed profile schema (profileschema.go).
	ProfileSchema profileschema.Schema `json:"profile_schema,omitzero"`
	// Communication holds the topics users opt in to (consent_topics.go).
	Communication Communication `json:"communication,omitzero"`
	// OAuth is dynamic client registration and client ID metadata
	// documents (internal/oauthclient regsettings.go).
	OAuth oauthclient.OAuthSettings `json:"oauth,omitzero"`
	// MTLS is the mutual-TLS policy: the tenant's client CAs (mtls.go).
	MTLS MTLS `json:"mtls,omitzero"`
}

// LDAPSettings is the tenant's policy for the LDAP interface.
type LDAPSettings struct {
	// UserBinds lets users bind with their password (default true); turn
	// it off where a second factor is mandatory, since a bind has none.
	// Service accounts (API keys) can still bind.
	UserBinds bool `json:"user_binds"`
}

// DefaultSettings are a new tenant's settings.
func DefaultSettings() Settings {
	return Settings{PasswordPolicy: credential.DefaultPolicy(), SelfService: DefaultSelfService(), MFA: DefaultMFA(),
		LDAP: LDAPSettings{UserBinds: true}, Risk: risk.DefaultPolicy()}
}

// ParseSettings decodes stored settings; absent fields keep their defaults.
func ParseSettings(raw []byte) (Settings, error) {
	s := DefaultSettings()
	if len(raw) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("tenancy: settings: %w", err)
	}
	return s, nil
}
