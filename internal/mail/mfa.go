package mail

// KindMFACode mails a one-time code for a second factor (internal/mfa,
// where the tenant's mfa.email_code allows it). It carries no link.
const KindMFACode = "mfa_code"

func init() { kinds[KindMFACode] = true }
