package mail

// Notices of a change to how someone signs in, sent after the change to
// the address that held the account before it.
const (
	// KindEmailChanged tells the previous address that the account's
	// address changed; its link reverts the change and ends every
	// session.
	KindEmailChanged = "email_changed"
	// KindPasswordChanged tells the account's address that its password
	// was changed or reset; its link starts a reset.
	KindPasswordChanged = "password_changed"
	// KindAnnouncement carries a tenant's announcement: its subject and
	// text are the announcement's (Data.Title, Data.Body), not the
	// catalog's.
	KindAnnouncement = "announcement"
)

func init() {
	kinds[KindEmailChanged] = true
	kinds[KindPasswordChanged] = true
	kinds[KindAnnouncement] = true
}

// sharedKeys maps a kind to the catalog prefix its .action and .ignore
// sentences come from, when several kinds share them.
var sharedKeys = map[string]string{}

// RegisterKind adds a mail kind rendered from the catalog keys
// mail.{kind}.subject and .intro, and mail.{shared}.action and .ignore
// (.ignore_nolink for a mail without a link); shared "" is the kind's own.
// It is called from package initialisation only (the maps are not locked).
func RegisterKind(kind, shared string) {
	kinds[kind] = true
	if shared != "" {
		sharedKeys[kind] = shared
	}
}
