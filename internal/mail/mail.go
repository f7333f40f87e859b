// Package mail sends Gatehouse's mails: a durable queue in the database
// (a mail survives a restart of the process that queued it), a worker that
// delivers with retries and exponential backoff, SMTP delivery (net/smtp,
// STARTTLS when offered) and templates per tenant and language (text and
// HTML). With no SMTP server configured each mail is written as a file
// under {data_dir}/mail/ and its link logged, so a newcomer needs no mail
// server. Queued content is sealed with the master key: it carries links.
// It knows nothing of HTTP.
package mail

import (
	"context"
	"errors"
	"net/mail"
	"strings"
)

// Message is one rendered mail.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Link is the mail's action link, logged by the file sender (and only
	// there) so a newcomer without a mail server can follow it.
	Link string `json:"link,omitempty"`
}

// Sender delivers one message. Errors are retried by the worker unless
// they are *PermanentError.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// PermanentError is a failure that no retry can fix (an address the
// server refuses outright).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "mail: permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// ErrBadAddress: a recipient or sender that is not one plain address.
var ErrBadAddress = errors.New("mail: not a single valid address")

// checkAddress accepts one bare address (no display name, no line breaks).
func checkAddress(s string) (string, error) {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "\r\n<>,;\"") {
		return "", ErrBadAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", ErrBadAddress
	}
	return a.Address, nil
}
