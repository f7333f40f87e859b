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
)

func init() {
	kinds[KindEmailChanged] = true
	kinds[KindPasswordChanged] = true
}
