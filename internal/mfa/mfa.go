package mfa

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Errors. Every wrong code, replayed code, unknown factor or spent
// recovery code is ErrInvalidCode: a guesser learns nothing from which.
var (
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrNoFactor: the user has no confirmed factor to ask for.
	ErrNoFactor = errors.New("mfa: no second factor enrolled")
)

// Service manages and checks second factors.
type Service struct {
	Store  store.Store
	Sealer *seal.Sealer
	Audit  *events.Recorder
	Now    func() time.Time
	// Rand is the source of seeds and recovery codes; nil is crypto/rand.
	Rand io.Reader
	// PublicURL gives passkeys their relying party: its host is the RP id,
	// its origin the only origin accepted.
	PublicURL string
	// Mail sends email codes (email.go); nil turns them off.
	Mail *Mailer
}

// FactorInfo is what a user or administrator sees of a factor: never its
// secret.
type FactorInfo struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Confirmed  bool       `json:"confirmed"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Summary is a user's factors and how many recovery codes are left.
type Summary struct {
	Factors       []FactorInfo `json:"factors"`
	RecoveryCodes int          `json:"recovery_codes_left"`
}

// PurposeRemember is the one-time-token purpose of a remembered device
// (internal/flow mints them); a reset revokes them with the factors.
const PurposeRemember = "mfa_remember"

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// aad binds a sealed secret to its row.
func aad(tenant store.TenantID, factorID string) []byte {
	return []byte("mfa/" + string(tenant) + "/" + factorID)
}

// List answers the user's factors and the recovery codes left.
func (s *Service) List(ctx context.Context, tenant store.TenantID, userID string) (*Summary, error) {
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := &Summary{Factors: []FactorInfo{}}
	for _, f := range fs {
		out.Factors = append(out.Factors, FactorInfo{ID: f.ID, Kind: f.Kind, Name: f.Name, Confirmed: f.Confirmed,
			CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt})
	}
	if out.RecoveryCodes, err = s.Store.MFA().RecoveryCodes().CountRecoveryCodes(ctx, tenant, userID); err != nil {
		return nil, err
	}
	return out, nil
}

// Enrolled reports whether the user has a confirmed factor.
func (s *Service) Enrolled(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, tenant, userID)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if f.Confirmed {
			return true, nil
		}
	}
	return false, nil
}

// Remove deletes one of the user's factors (audited). When no confirmed
// factor is left, the recovery codes go too.
func (s *Service) Remove(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, factorID string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		f, err := tx.MFA().Factors().GetFactor(ctx, tenant, factorID)
		if err != nil || f.UserID != userID {
			return store.ErrNotFound
		}
		if err := tx.MFA().Factors().DeleteFactor(ctx, tenant, userID, factorID); err != nil {
			return err
		}
		left, err := tx.MFA().Factors().ListFactors(ctx, tenant, userID)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			if err := tx.MFA().RecoveryCodes().ReplaceRecoveryCodes(ctx, tenant, userID, nil, s.Now()); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "mfa.factor.remove",
			TargetType: "user", TargetID: userID,
			Changes: events.Changes{"factor": {Before: map[string]any{"id": f.ID, "kind": f.Kind, "name": f.Name}}}})
	})
}

// Reset removes every factor and recovery code of the user (an
// administrator's answer to a lost phone; audited). ErrNotFound when the
// user is not in the tenant.
func (s *Service) Reset(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) (int, error) {
	var n int
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Users().GetUser(ctx, tenant, userID); err != nil {
			return err
		}
		var err error
		if n, err = tx.MFA().Factors().DeleteUserFactors(ctx, tenant, userID); err != nil {
			return err
		}
		if err := tx.SelfService().OneTimeTokens().RevokeUserTokens(ctx, tenant, userID, PurposeRemember); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "mfa.reset",
			TargetType: "user", TargetID: userID, Changes: events.Changes{"factors": {Before: n, After: 0}}})
	})
	return n, err
}
