// Package whsig signs and verifies HTTP messages per the Standard Webhooks
// specification: a secret is "whsec_" followed by base64 of its bytes; a
// message is signed as HMAC-SHA256 over "<id>.<unix timestamp>.<body>" and
// the header webhook-signature carries "v1,<base64 signature>", several
// separated by spaces while a secret rotates. Webhook deliveries and the
// synchronous hooks of the login flow both sign this way, so one receiver
// library verifies both.
package whsig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Header names of the specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const prefix = "whsec_"

// Tolerance is how far a message's timestamp may be from the verifier's
// clock, as the specification recommends.
const Tolerance = 5 * time.Minute

// ErrBadSignature is returned when no signature matches.
var ErrBadSignature = errors.New("whsig: no matching signature")

// ErrBadSecret is returned for a secret that is not "whsec_" + base64.
var ErrBadSecret = errors.New("whsig: malformed secret")

// ErrStale is returned for a timestamp outside Tolerance.
var ErrStale = errors.New("whsig: timestamp outside tolerance")

// NewSecret returns a fresh secret of 32 random bytes, read from r.
func NewSecret(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return prefix + base64.StdEncoding.EncodeToString(b), nil
}

// NewRandomSecret is NewSecret over crypto/rand.
func NewRandomSecret() (string, error) { return NewSecret(rand.Reader) }

// Key decodes a secret to its HMAC key.
func Key(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, prefix)
	if !ok || s == "" {
		return nil, ErrBadSecret
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) < 16 {
		return nil, ErrBadSecret
	}
	return k, nil
}

// Sign returns the "v1,<base64>" signature of one message under secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	k, err := Key(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(k, id, ts.Unix(), body)), nil
}

// SignAll returns the header value signing the message under each secret
// (the current one and, during a rotation, the previous), space-separated.
func SignAll(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return "", err
		}
		parts = append(parts, sig)
	}
	return strings.Join(parts, " "), nil
}

// Headers returns the three headers of a signed message.
func Headers(secrets []string, id string, ts time.Time, body []byte) (map[string]string, error) {
	sig, err := SignAll(secrets, id, ts, body)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
		HeaderSignature: sig,
	}, nil
}

// Verify checks a message's headers against secret at time now: the
// timestamp must be within Tolerance and one of the v1 signatures must
// match (compared in constant time).
func Verify(secret, id, timestamp, signatures string, body []byte, now time.Time) error {
	k, err := Key(secret)
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrStale
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	want := mac(k, id, sec, body)
	for _, s := range strings.Fields(signatures) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return ErrBadSignature
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(strconv.FormatInt(ts, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
