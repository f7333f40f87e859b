package userimport

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestImportUpdateEndsWhatTheOldCredentialsHeld: an update run that
// changes a user's email ends the tickets mailed to the old address, and
// one that changes the password or disables the user ends the user's
// sessions, as the same change through the directory does.
func TestImportUpdateEndsWhatTheOldCredentialsHeld(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		tn := mkTenant(t, s)
		im := newImporter(t, s)
		const head = "external_id,email,email_verified,given_name,password_hash\n"
		const bcryptHash = "$2b$04$/07y/Eo4BSuNnA/K0VCzbuI0wn/Lhm1tArxLUFMtY.445Pjf6.6KK"
		spec := Spec{Tenant: tn, Format: "csv", Digest: "d1"}
		if _, err := im.Run(ctx, actor, spec, source(t, "csv", head+"ext-1,old@example.com,true,Ann,"+bcryptHash+"\n"), nil); err != nil {
			t.Fatal(err)
		}
		u, err := s.Users().GetUserByEmail(ctx, tn, "old@example.com")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		reset := sha256.Sum256([]byte("reset link mailed to old@example.com"))
		if err := s.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{ID: newID(), Tenant: tn,
			Purpose: store.PurposeResetPassword, UserID: u.ID, Hash: reset[:], CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		sessions := &session.Service{Store: s, Now: time.Now}
		sess, _, err := sessions.Create(ctx, tn, u.ID, []string{"pwd"}, "test", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}

		other := strings.Replace(bcryptHash, "$04$", "$05$", 1)
		spec.OnConflict, spec.Digest = OnConflictUpdate, "d2"
		job, err := im.Run(ctx, actor, spec, source(t, "csv", head+"ext-1,new@example.com,true,Ann,"+other+"\n"), nil)
		if err != nil || job.Updated != 1 {
			t.Fatalf("update run = %+v, %v", job, err)
		}
		if _, err := s.SelfService().OneTimeTokens().PeekToken(ctx, tn, store.PurposeResetPassword, reset[:]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reset link to the old address after the update: %v", err)
		}
		if _, err := sessions.LiveByID(ctx, tn, sess.ID); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("session after the password was replaced: %v", err)
		}
	})
}
