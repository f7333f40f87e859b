package directory

import "github.com/gatehouse-id/gatehouse/internal/valid"

// CheckEmail answers "" when s is an email address the directory accepts,
// else the problem's code (required, too_long, invalid); self-service
// checks an address before it looks for its account.
func CheckEmail(s string) string {
	var c valid.Collector
	checkNewEmail(&c, "email", s)
	var ve *valid.Error
	if err := c.Err(); err != nil {
		ve = err.(*valid.Error)
		return ve.Fields[0].Code
	}
	return ""
}
