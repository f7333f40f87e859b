package flow

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// "Remember this device": after a second factor, a user may opt in (where
// the tenant's mfa.remember_days allows) to skip the second factor on this
// browser for that many days. The browser keeps a random token in a
// cookie; the store keeps only its hash, as a one-time token of purpose
// PurposeMFARemember, so it is revocable: RevokeUserTokens, by the user
// (forget remembered devices) or with an administrator's reset. A
// remembered device satisfies the policy, never an explicit step-up
// (acr_values): a client that asks for MFA gets it.

// PurposeMFARemember marks a remembered device.
const PurposeMFARemember = mfa.PurposeRemember

type rememberKey struct{}

// WithRememberToken carries a browser's remembered-device token (its
// cookie value) to the login flow.
func WithRememberToken(ctx context.Context, token string) context.Context {
	if token == "" || len(token) > 128 {
		return ctx
	}
	return context.WithValue(ctx, rememberKey{}, token)
}

// anyRememberedKey marks a context with no browser (a refresh): there a
// remembered device counts when the user still has one.
type anyRememberedKey struct{}

// remembered reports whether ctx carries a live remembered-device token of
// userID, or, for a refresh (anyRememberedKey), whether the user has one.
func (s *Service) remembered(ctx context.Context, tenant store.TenantID, userID string) bool {
	if ctx.Value(anyRememberedKey{}) != nil {
		ok, err := s.Store.SelfService().OneTimeTokens().HasLiveToken(ctx, tenant, userID, PurposeMFARemember)
		return err == nil && ok
	}
	token, _ := ctx.Value(rememberKey{}).(string)
	if token == "" {
		return false
	}
	t, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, tenant, PurposeMFARemember, pendingHash(token))
	return err == nil && t.UserID == userID
}

// RememberDevice mints a remembered-device token for userID valid for
// days and answers it (for the cookie only).
func (s *Service) RememberDevice(ctx context.Context, tenant store.TenantID, userID string, days int) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := "gh_rd_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.Now()
	err := s.Store.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Purpose: PurposeMFARemember, UserID: userID,
		Hash: pendingHash(token), CreatedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour),
	})
	return token, err
}

// ForgetDevices revokes every remembered device of the user, and forgets
// the devices and networks the login throttle knows (device.go).
func (s *Service) ForgetDevices(ctx context.Context, tenant store.TenantID, userID string) error {
	if err := s.Store.SelfService().OneTimeTokens().RevokeUserTokens(ctx, tenant, userID, PurposeMFARemember); err != nil {
		return err
	}
	return s.ForgetSources(ctx, tenant, userID)
}
