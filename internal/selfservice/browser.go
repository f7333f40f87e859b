package selfservice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BrowserTTL is how long the browser that signed an account up stays
// bound to it: a first proof of the mailbox from that browser within this
// time keeps the password chosen at sign-up.
const BrowserTTL = 30 * 24 * time.Hour

// browserSecretChars is the length of a browser secret (32 random bytes,
// base64url without padding).
const browserSecretChars = 43

// NewBrowserSecret answers a fresh secret for the sign-up browser cookie.
func NewBrowserSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// ValidBrowserSecret reports whether s has the shape NewBrowserSecret
// gives (a cookie value is hostile input).
func ValidBrowserSecret(s string) bool {
	if len(s) != browserSecretChars {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// browserHash binds a browser secret to one user: the same browser may
// sign up twice, and each binding is its own row.
func browserHash(userID, secret string) []byte {
	h := sha256.Sum256([]byte("gh_signup_browser:" + userID + ":" + secret))
	return h[:]
}

// bindBrowser stores, through repos, that the browser holding secret
// signed userID up (only its hash; nothing when secret is malformed).
func (s *Service) bindBrowser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID, secret string, now time.Time) error {
	if !ValidBrowserSecret(secret) {
		return nil
	}
	return repos.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Purpose: store.PurposeSignupBrowser, UserID: userID,
		Hash: browserHash(userID, secret), CreatedAt: now, ExpiresAt: now.Add(BrowserTTL)})
}

// signedUpHere spends the binding of userID to the browser holding
// secret and reports whether there was a live one. Decided in the
// database: the binding is spent by one conditional update.
func signedUpHere(ctx context.Context, repos store.Repos, tenant store.TenantID, userID, secret string) (bool, error) {
	if !ValidBrowserSecret(secret) {
		return false, nil
	}
	rec, err := repos.SelfService().OneTimeTokens().ConsumeToken(ctx, tenant, store.PurposeSignupBrowser, browserHash(userID, secret))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return rec.UserID == userID, nil
}
