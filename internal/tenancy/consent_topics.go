package tenancy

import (
	"fmt"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Communication is what users choose among for the tenant's messages.
type Communication struct {
	// Topics are the subjects of communication users opt in to or out of
	// on the account page's privacy section and through the preferences
	// API (internal/consent).
	Topics []Topic `json:"topics,omitempty"`
}

// Topic is one subject of communication: a stable name and its label per
// language (a missing language falls back to English, then the name).
type Topic struct {
	Name  string            `json:"name"`
	Label map[string]string `json:"label,omitempty"`
}

// MaxTopics bounds a tenant's communication topics.
const MaxTopics = 50

// topicName is a topic's stable name: lower case, digits, '_', '-', '.'.
var topicName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,39}$`)

func (p Communication) check(c *valid.Collector, field string) {
	if len(p.Topics) > MaxTopics {
		c.Add(field+".topics", "too_many", fmt.Sprintf("At most %d topics.", MaxTopics))
		return
	}
	seen := map[string]bool{}
	for i, t := range p.Topics {
		f := fmt.Sprintf("%s.topics[%d]", field, i)
		switch {
		case !topicName.MatchString(t.Name):
			c.Add(f+".name", "invalid", "A topic name is 1 to 40 characters: lower-case letters, digits, '_', '-', '.'.")
		case seen[t.Name]:
			c.Add(f+".name", "duplicate", "Each topic name may appear once.")
		}
		seen[t.Name] = true
		for lang, l := range t.Label {
			if !i18n.Supported(lang) {
				c.Add(f+".label."+lang, "unsupported", "Labels are given for the supported languages (en, de, es).")
			} else if l == "" || len([]rune(l)) > 80 {
				c.Add(f+".label."+lang, "invalid", "A label is 1 to 80 characters.")
			}
		}
	}
}

// TopicLabel is t's label in lang, else in English, else its name.
func (t Topic) TopicLabel(lang string) string {
	if l := t.Label[lang]; l != "" {
		return l
	}
	if l := t.Label["en"]; l != "" {
		return l
	}
	return t.Name
}
