package tenancy

import (
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Privacy is the tenant's data-protection policy (internal/privacy).
type Privacy struct {
	// RetentionMonths deletes (erases) accounts nobody signed in to for
	// that many months, after a notice mail 30 days before; 0 keeps
	// accounts for ever.
	RetentionMonths int `json:"retention_months,omitempty"`
	// GDPRDays and CCPADays are how long a data-subject request may take
	// under each regime (defaults 30 and 45 days: GDPR Art. 12(3) and
	// CCPA §1798.130(a)(2)).
	GDPRDays int `json:"gdpr_days,omitempty"`
	CCPADays int `json:"ccpa_days,omitempty"`
}

// Privacy defaults.
const (
	DefaultGDPRDays = 30
	DefaultCCPADays = 45
	// MaxRetentionMonths bounds the setting (100 years).
	MaxRetentionMonths = 1200
)

// RequestDays answers the deadline in days of a request under regime
// ("gdpr" or "ccpa").
func (p Privacy) RequestDays(regime string) int {
	if regime == "ccpa" {
		if p.CCPADays > 0 {
			return p.CCPADays
		}
		return DefaultCCPADays
	}
	if p.GDPRDays > 0 {
		return p.GDPRDays
	}
	return DefaultGDPRDays
}

// check reports out-of-range values under prefix.
func (p Privacy) check(c *valid.Collector, prefix string) {
	if p.RetentionMonths < 0 || p.RetentionMonths > MaxRetentionMonths {
		c.Add(prefix+".retention_months", "out_of_range", fmt.Sprintf("retention_months is 0 (keep for ever) to %d.", MaxRetentionMonths))
	}
	if p.RetentionMonths == 1 {
		// The notice goes out 30 days before the deletion, so a month
		// of inactivity would notify at once.
		c.Add(prefix+".retention_months", "out_of_range", "retention_months is at least 2, so the notice can come 30 days before.")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"gdpr_days", p.GDPRDays}, {"ccpa_days", p.CCPADays}} {
		if f.v < 0 || f.v > 365 {
			c.Add(prefix+"."+f.name, "out_of_range", f.name+" is 0 (the legal default) to 365.")
		}
	}
}
