package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// mustDecode turns a base32 seed back into bytes; seeds are made here.
func mustDecode(s string) []byte {
	b, err := b32.DecodeString(strings.ToUpper(s))
	if err != nil {
		panic("mfa: stored seed is not base32")
	}
	return b
}

// normCode drops dashes and spaces and lower-cases a recovery code.
func normCode(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	return strings.NewReplacer("-", "", " ", "").Replace(c)
}

func hashCode(c string) []byte {
	h := sha256.Sum256([]byte("gh_rc:" + normCode(c)))
	return h[:]
}

// replaceCodes makes RecoveryCodeCount new codes (10 base32 characters,
// 50 bits each), stores their hashes in place of the old ones and answers
// them for showing once.
func (s *Service) replaceCodes(ctx context.Context, tx store.Repos, tenant store.TenantID, userID string) ([]string, error) {
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		raw := make([]byte, 7)
		if _, err := io.ReadFull(rnd, raw); err != nil {
			return nil, err
		}
		c := strings.ToLower(b32.EncodeToString(raw))[:10]
		codes[i] = c[:5] + "-" + c[5:]
		hashes[i] = hashCode(codes[i])
	}
	if err := tx.MFA().RecoveryCodes().ReplaceRecoveryCodes(ctx, tenant, userID, hashes, s.Now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes (the old
// ones die) and answers the new ones, shown once. ErrNoFactor when the
// user has no confirmed factor they would recover.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) ([]string, error) {
	enrolled, err := s.Enrolled(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	if !enrolled {
		return nil, ErrNoFactor
	}
	var codes []string
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		if codes, err = s.replaceCodes(ctx, tx, tenant, userID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "mfa.recovery_codes.regenerate",
			TargetType: "user", TargetID: userID})
	})
	return codes, err
}

// UseRecoveryCode spends one of the user's recovery codes; ErrInvalidCode
// when it is not an unused code of theirs.
func (s *Service) UseRecoveryCode(ctx context.Context, tenant store.TenantID, userID, code string) error {
	if n := len(normCode(code)); n != 10 {
		return ErrInvalidCode
	}
	err := s.Store.MFA().RecoveryCodes().UseRecoveryCode(ctx, tenant, userID, hashCode(code), s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidCode
	}
	return err
}

// Verify checks a second-factor code of any kind the user has: a 6-digit
// TOTP code, a mailed code (emailTicket names the mail sent, "" for
// none) or a recovery code. It answers the AMR value of what was used.
func (s *Service) Verify(ctx context.Context, tenant store.TenantID, userID, code, emailTicket string) (string, error) {
	if len(normCode(code)) == 10 {
		if err := s.UseRecoveryCode(ctx, tenant, userID, code); err != nil {
			return "", err
		}
		return "otp", nil
	}
	if emailTicket != "" {
		if err := s.useEmailCode(ctx, tenant, userID, emailTicket, strings.TrimSpace(code)); err != nil {
			return "", err
		}
		return "otp", nil
	}
	if err := s.VerifyTOTP(ctx, tenant, userID, code); err != nil {
		return "", err
	}
	return "otp", nil
}
