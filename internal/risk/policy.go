package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Thresholds map a score (0..100) to a decision: at or above Block the
// attempt is refused, at or above StepUp it needs the user's second factor
// (an emailed code for a user without one), below it is allowed; at or
// above Notify (and not blocked) the user is also told of the sign-in. A
// threshold of 0 is off. The attack thresholds bound the counters.
type Thresholds struct {
	StepUp int `json:"step_up"`
	Block  int `json:"block"`
	Notify int `json:"notify"`
	// StuffingAccounts: failures on this many accounts from one network
	// (/24, /48) within the stuffing window raise credential_stuffing,
	// and every further password attempt from that network needs a
	// solved challenge before its password is checked.
	StuffingAccounts int `json:"stuffing_accounts,omitempty"`
	// SprayAccounts: one password failing on this many accounts within
	// the spraying window raises password_spraying.
	SprayAccounts int `json:"spray_accounts,omitempty"`
	// AccountNetworks: failures of one account from this many networks
	// within the velocity window raise velocity.
	AccountNetworks int `json:"account_networks,omitempty"`
}

// DefaultThresholds are a tenant's thresholds unless settings.risk says
// otherwise. Blocking is off by default: a tenant turns it on knowingly.
func DefaultThresholds() Thresholds {
	return Thresholds{StepUp: 50, Block: 0, Notify: 45, StuffingAccounts: 20, SprayAccounts: 10, AccountNetworks: 5}
}

// Decide maps score to a decision and whether to notify.
func (t Thresholds) Decide(score int) (Decision, bool) {
	switch {
	case t.Block > 0 && score >= t.Block:
		return Block, false
	case t.StepUp > 0 && score >= t.StepUp:
		return StepUp, t.Notify > 0 && score >= t.Notify
	}
	return Allow, t.Notify > 0 && score >= t.Notify
}

// Policy is a tenant's settings.risk: whether the engine runs, the
// thresholds, a support message for blocked attempts, and per-client
// overrides (a payment app asks more than a newsletter).
type Policy struct {
	// Disabled turns the engine off for the tenant (no scores, no audit
	// entries; the stuffing challenge of the throttle stays).
	Disabled   bool       `json:"disabled,omitempty"`
	Thresholds Thresholds `json:"thresholds"`
	// SupportMessage is shown on the page of a blocked attempt.
	SupportMessage string `json:"support_message,omitempty"`
	// Clients override the thresholds per OAuth client id: fields left 0
	// keep the tenant's.
	Clients map[string]Thresholds `json:"clients,omitempty"`
}

// DefaultPolicy is the policy of a tenant without settings.risk.
func DefaultPolicy() Policy { return Policy{Thresholds: DefaultThresholds()} }

// ErrInvalidPolicy is wrapped by Validate's errors.
var ErrInvalidPolicy = errors.New("risk: invalid policy")

// maxClients bounds the per-client overrides of one tenant.
const maxClients = 200

// Validate checks every threshold (0..100, block above step_up when both
// are on) and the support message; the error names the field.
func (p Policy) Validate() error {
	if err := p.Thresholds.validate("risk.thresholds"); err != nil {
		return err
	}
	if len(p.SupportMessage) > 500 || strings.ContainsAny(p.SupportMessage, "\x00") {
		return fmt.Errorf("%w: risk.support_message must be at most 500 bytes of text", ErrInvalidPolicy)
	}
	if len(p.Clients) > maxClients {
		return fmt.Errorf("%w: risk.clients holds at most %d clients", ErrInvalidPolicy, maxClients)
	}
	for id := range p.Clients {
		if id == "" || len(id) > 200 {
			return fmt.Errorf("%w: risk.clients: a client id is 1 to 200 bytes", ErrInvalidPolicy)
		}
		if err := p.For(id).validate("risk.clients." + id); err != nil {
			return err
		}
	}
	return nil
}

func (t Thresholds) validate(field string) error {
	for name, v := range map[string]int{"step_up": t.StepUp, "block": t.Block, "notify": t.Notify} {
		if v < 0 || v > 100 {
			return fmt.Errorf("%w: %s.%s must be 0 (off) to 100, got %d", ErrInvalidPolicy, field, name, v)
		}
	}
	for name, v := range map[string]int{"stuffing_accounts": t.StuffingAccounts, "spray_accounts": t.SprayAccounts,
		"account_networks": t.AccountNetworks} {
		if v < 0 || v > 100000 {
			return fmt.Errorf("%w: %s.%s must be 0 (default) to 100000, got %d", ErrInvalidPolicy, field, name, v)
		}
	}
	if t.Block > 0 && t.StepUp > 0 && t.Block <= t.StepUp {
		return fmt.Errorf("%w: %s.block (%d) must be above step_up (%d)", ErrInvalidPolicy, field, t.Block, t.StepUp)
	}
	return nil
}

// For answers the thresholds for clientID: the tenant's, with the
// client's non-zero fields over them.
func (p Policy) For(clientID string) Thresholds {
	t := p.Thresholds.withDefaults()
	c, ok := p.Clients[clientID]
	if !ok || clientID == "" {
		return t
	}
	for _, f := range []struct{ dst, src *int }{{&t.StepUp, &c.StepUp}, {&t.Block, &c.Block}, {&t.Notify, &c.Notify},
		{&t.StuffingAccounts, &c.StuffingAccounts}, {&t.SprayAccounts, &c.SprayAccounts}, {&t.AccountNetworks, &c.AccountNetworks}} {
		if *f.src != 0 {
			*f.dst = *f.src
		}
	}
	return t
}

// withDefaults fills the counter thresholds left 0.
func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	if t.StuffingAccounts == 0 {
		t.StuffingAccounts = d.StuffingAccounts
	}
	if t.SprayAccounts == 0 {
		t.SprayAccounts = d.SprayAccounts
	}
	if t.AccountNetworks == 0 {
		t.AccountNetworks = d.AccountNetworks
	}
	return t
}

// ParsePolicy reads settings.risk from a tenant's settings document;
// DefaultPolicy when absent. Thresholds absent from the document keep
// their defaults.
func ParsePolicy(settings []byte) (Policy, error) {
	doc := struct {
		Risk *Policy `json:"risk"`
	}{Risk: new(Policy)}
	*doc.Risk = DefaultPolicy()
	if len(settings) == 0 {
		return *doc.Risk, nil
	}
	if err := json.Unmarshal(settings, &doc); err != nil {
		return DefaultPolicy(), fmt.Errorf("risk: settings: %w", err)
	}
	if doc.Risk == nil {
		return DefaultPolicy(), nil
	}
	return *doc.Risk, nil
}
