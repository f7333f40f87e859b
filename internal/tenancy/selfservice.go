package tenancy

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Sign-up policies.
const (
	SignupOpen       = "open"
	SignupInviteOnly = "invite_only"
	SignupClosed     = "closed"
)

// SelfService is a tenant's customer self-service policy: who may sign up,
// whether only verified users may log in, passwordless email login, the legal
// documents sign-up must accept, and which email domains are refused.
type SelfService struct {
	// Signup is open, invite_only or closed (the default: a new tenant
	// takes no strangers until its operator says so).
	Signup string `json:"signup"`
	// RequireVerifiedEmail lets only users whose email is verified log in
	// (off by default, so users created by an administrator or an import
	// keep logging in; turn it on with open sign-up).
	RequireVerifiedEmail bool `json:"require_verified_email"`
	// Passwordless offers sign-in by an emailed link or code.
	Passwordless bool `json:"passwordless"`
	// TermsURL/TermsVersion and PrivacyURL/PrivacyVersion name the
	// documents sign-up asks to accept (none when the URL is empty); the
	// version accepted is recorded with the time and address.
	TermsURL       string `json:"terms_url,omitempty"`
	TermsVersion   string `json:"terms_version,omitempty"`
	PrivacyURL     string `json:"privacy_url,omitempty"`
	PrivacyVersion string `json:"privacy_version,omitempty"`
	// BlockDisposable refuses addresses at the bundled list of disposable
	// mail domains; BlockedDomains adds the tenant's own (lower case).
	BlockDisposable bool     `json:"block_disposable,omitempty"`
	BlockedDomains  []string `json:"blocked_domains,omitempty"`
	// SignupsPerIPHour bounds sign-up attempts from one address per hour
	// (0: DefaultSignupsPerIPHour); raise it for a load test, or for many
	// customers behind one NAT.
	SignupsPerIPHour int `json:"signups_per_ip_hour,omitempty"`
}

// DefaultSignupsPerIPHour is the sign-up attempts one address may make
// per hour unless the tenant says otherwise.
const DefaultSignupsPerIPHour = 20

// SignupLimit is the effective per-address hourly sign-up limit.
func (s SelfService) SignupLimit() int {
	if s.SignupsPerIPHour > 0 {
		return s.SignupsPerIPHour
	}
	return DefaultSignupsPerIPHour
}

// DefaultSelfService is a new tenant's policy: sign-up closed, no
// passwordless login, unverified users may log in.
func DefaultSelfService() SelfService { return SelfService{Signup: SignupClosed} }

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// check validates and normalises the policy, naming fields under prefix.
func (s *SelfService) check(c *valid.Collector, prefix string) {
	switch s.Signup {
	case "":
		s.Signup = SignupClosed
	case SignupOpen, SignupInviteOnly, SignupClosed:
	default:
		c.Add(prefix+".signup", "invalid", "Sign-up is one of open, invite_only, closed.")
	}
	for _, d := range []struct{ field, url, version string }{
		{"terms", s.TermsURL, s.TermsVersion}, {"privacy", s.PrivacyURL, s.PrivacyVersion},
	} {
		if d.url == "" {
			continue
		}
		u, err := url.Parse(d.url)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(d.url) > 500 {
			c.Add(prefix+"."+d.field+"_url", "invalid", "The address is an absolute http(s) URL of at most 500 characters.")
		}
		if d.version == "" || len(d.version) > 64 {
			c.Add(prefix+"."+d.field+"_version", "invalid", "A document with a URL needs a version of 1 to 64 characters.")
		}
	}
	if s.SignupsPerIPHour < 0 || s.SignupsPerIPHour > 1_000_000 {
		c.Add(prefix+".signups_per_ip_hour", "invalid", "The hourly sign-up limit per address is 0 (the default, 20) to 1000000.")
	}
	if len(s.BlockedDomains) > 1000 {
		c.Add(prefix+".blocked_domains", "too_long", "At most 1000 blocked domains.")
		return
	}
	for i, d := range s.BlockedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !domainRE.MatchString(d) || len(d) > 253 {
			c.Add(prefix+".blocked_domains", "invalid", "Each blocked domain is a domain name such as example.com.")
			return
		}
		s.BlockedDomains[i] = d
	}
}
