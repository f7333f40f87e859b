package mfa

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestEmailCodeOwnerCheckedFirst: a mailed second-factor code offered in
// another user's login neither spends the code nor uses up its attempts;
// its owner can still use it.
func TestEmailCodeOwnerCheckedFirst(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		ctx, tn := t.Context(), f.tenant.ID
		other := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn, Email: "b@example.com", EmailNorm: "b@example.com", Status: store.UserActive}
		if err := db.Users().CreateUser(ctx, other); err != nil {
			t.Fatal(err)
		}
		// A code as SendEmailCode stores it.
		id, code := uuid.Must(uuid.NewV7()).String(), "424242"
		h := sha256.Sum256([]byte("link-" + id))
		if err := db.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{ID: id, Tenant: tn, Purpose: PurposeEmailCode,
			UserID: f.user.ID, Hash: h[:], CodeHash: emailCodeHash(id, code), MaxAttempts: emailCodeAttempts,
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(emailCodeTTL)}); err != nil {
			t.Fatal(err)
		}
		for i := range emailCodeAttempts + 1 {
			if _, err := f.svc.Verify(ctx, tn, other.ID, code, id); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("another user's code, try %d: %v", i, err)
			}
		}
		if amr, err := f.svc.Verify(ctx, tn, f.user.ID, code, id); err != nil || amr != "otp" {
			t.Fatalf("the owner's code after another user offered it: %q %v", amr, err)
		}
	})
}
