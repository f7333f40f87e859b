// Package notice tells users about changes to their account: one
// mechanism for every kind of notice (a registry of kinds, each with its
// catalog texts in every language and whether it concerns security), mails
// through the queue in the user's language with the tenant's template
// overrides, a single-use link that ends every session and starts a
// reset, and a per-user mute that silences the kinds not about security.
// It also publishes tenant announcements to an audience. It learns of most
// changes from the audit log (events.Observer), inside the change's
// transaction, so a change and its notice commit together.
package notice

import (
	"sort"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// Kind is one kind of notice. Its mail's subject and text are the catalog
// keys mail.{Name}.subject and .intro; a tenant overrides them with the
// templates {slug}/{Name}.{lang}.txt and .html (mail.Renderer).
type Kind struct {
	Name string
	// Security kinds are always sent; the others are muted by a user's
	// opt-out.
	Security bool
	// Secure: the mail carries the link that ends every session and
	// starts a reset ("this was not me").
	Secure bool
}

// Kinds of notice.
const (
	NewDevice       = "new_device"
	FactorAdded     = "factor_added"
	FactorRemoved   = "factor_removed"
	PasskeyAdded    = "passkey_added"
	RecoveryCodes   = "recovery_codes_regenerated"
	IdentityLinked  = "identity_linked"
	AccountDisabled = "account_disabled"
	AccountEnabled  = "account_enabled"
	ElevationGrant  = "elevation_granted"
	// PrivacyRetention tells an inactive account it will be deleted in 30
	// days unless its owner signs in (internal/privacy's retention).
	PrivacyRetention = "privacy_retention"
	// BreachedPassword asks the user to change a password that signed in
	// and is in the breach corpus (internal/risk).
	BreachedPassword = "breached_password"
	// RiskySignIn tells the user of a sign-in the risk engine found
	// unusual enough to mention (its notify threshold).
	RiskySignIn = "risky_sign_in"
)

var registry = map[string]Kind{}

func register(k Kind, shared string) {
	registry[k.Name] = k
	if shared != "none" {
		mail.RegisterKind(k.Name, shared)
	}
}

func init() {
	// The notices of a password or email change carry their own links
	// (a reset, the revert of the change) and texts.
	register(Kind{Name: mail.KindPasswordChanged, Security: true}, "none")
	register(Kind{Name: mail.KindEmailChanged, Security: true}, "none")
	// Required before a retention deletion, so never muted; its texts
	// are its own (catalog part privacy).
	register(Kind{Name: PrivacyRetention, Security: true}, "")
	for _, k := range []Kind{
		{Name: FactorAdded, Security: true, Secure: true},
		{Name: FactorRemoved, Security: true, Secure: true},
		{Name: PasskeyAdded, Security: true, Secure: true},
		{Name: RecoveryCodes, Security: true, Secure: true},
		{Name: IdentityLinked, Security: true, Secure: true},
		{Name: AccountDisabled, Security: true},
		// A new device is frequent and informational (the device may be
		// a new browser of the owner): it can be muted.
		{Name: NewDevice, Secure: true},
		{Name: AccountEnabled, Secure: true},
		{Name: ElevationGrant, Secure: true},
		{Name: BreachedPassword, Security: true, Secure: true},
		{Name: RiskySignIn, Security: true, Secure: true},
	} {
		register(k, "notice")
	}
}

// Lookup answers the kind named name.
func Lookup(name string) (Kind, bool) {
	k, ok := registry[name]
	return k, ok
}

// All answers every kind, by name.
func All() []Kind {
	out := make([]Kind, 0, len(registry))
	for _, k := range registry {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
