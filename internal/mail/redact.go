package mail

import "regexp"

// addrRE matches what looks like an email address inside an error text.
var addrRE = regexp.MustCompile(`[^\s<>"'(),;:]+@[^\s<>"'(),;:]+`)

// Redact replaces email addresses in s: SMTP servers echo the recipient
// in their errors, and logs and stored errors carry no addresses.
func Redact(s string) string { return addrRE.ReplaceAllString(s, "[address]") }
