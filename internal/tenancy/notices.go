package tenancy

import (
	"regexp"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Notices is the tenant's policy for account notices and announcement
// mails.
type Notices struct {
	// Off names kinds of notice the tenant does not send. Kinds about
	// security (a password, address, factor, passkey, recovery code or
	// linked sign-in changed, the account disabled) are always sent, so
	// naming one here changes nothing.
	Off []string `json:"off,omitempty"`
	// MailRate is how many announcement mails per second the tenant
	// sends (0: the server's default).
	MailRate int `json:"mail_rate,omitempty"`
}

var noticeKindRE = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)

func (n *Notices) check(c *valid.Collector, prefix string) {
	if len(n.Off) > 30 {
		c.Add(prefix+".off", "too_long", "At most 30 kinds.")
	}
	for _, k := range n.Off {
		if !noticeKindRE.MatchString(k) {
			c.Add(prefix+".off", "invalid", "Each kind is a notice kind's name, such as new_device.")
			break
		}
	}
	if n.MailRate < 0 || n.MailRate > 1000 {
		c.Add(prefix+".mail_rate", "invalid", "mail_rate is 0 (the default) to 1000 mails per second.")
	}
}

// NoticeOff reports whether the tenant turned the notice kind off.
func (s Settings) NoticeOff(kind string) bool { return slices.Contains(s.Notices.Off, kind) }
