package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TOTP parameters: the ones every authenticator app understands.
const (
	period = 30
	digits = otp.DigitsSix
	// drift is how many steps either side of now a code may be from.
	drift = 1
)

var totpOpts = totp.ValidateOpts{Period: period, Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a TOTP factor waiting for its first code: shown once.
type Enrolment struct {
	FactorID string
	// Secret is the base32 key for manual entry; URL the otpauth:// URI
	// the QR code carries.
	Secret, URL string
}

// EnrolTOTP starts a TOTP enrolment: an unconfirmed factor whose seed is
// sealed at rest. issuer and account label the entry in the app.
func (s *Service) EnrolTOTP(ctx context.Context, tenant store.TenantID, userID, name, issuer, account string) (*Enrolment, error) {
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: period,
		Digits: digits, Algorithm: otp.AlgorithmSHA1, SecretSize: 20, Rand: rnd})
	if err != nil {
		return nil, err
	}
	if name = strings.TrimSpace(name); name == "" || len(name) > 100 {
		name = "Authenticator app"
	}
	f := &store.Factor{ID: newID(), Tenant: tenant, UserID: userID, Kind: store.FactorTOTP, Name: name, CreatedAt: s.Now()}
	if f.Secret, err = s.Sealer.Seal([]byte(key.Secret()), aad(tenant, f.ID)); err != nil {
		return nil, err
	}
	if err := s.Store.MFA().Factors().CreateFactor(ctx, f); err != nil {
		return nil, err
	}
	return &Enrolment{FactorID: f.ID, Secret: key.Secret(), URL: key.URL()}, nil
}

// QRCode renders an unconfirmed TOTP factor's otpauth URI as a PNG (drawn
// here; no external service). ErrNotFound for anything but the user's
// own unconfirmed TOTP factor: a confirmed seed is never shown again.
func (s *Service) QRCode(ctx context.Context, tenant store.TenantID, userID, factorID, issuer, account string) ([]byte, error) {
	f, err := s.Store.MFA().Factors().GetFactor(ctx, tenant, factorID)
	if err != nil || f.UserID != userID || f.Kind != store.FactorTOTP || f.Confirmed {
		return nil, store.ErrNotFound
	}
	seed, err := s.Sealer.Open(f.Secret, aad(tenant, f.ID))
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: period,
		Digits: digits, Algorithm: otp.AlgorithmSHA1, Secret: mustDecode(string(seed))})
	if err != nil {
		return nil, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ConfirmTOTP confirms an enrolment with its first code (which is then
// spent). When it is the user's first factor, it answers fresh recovery
// codes, shown once. ErrInvalidCode for a wrong code or a factor that is
// not the user's unconfirmed TOTP factor.
func (s *Service) ConfirmTOTP(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, factorID, code string) ([]string, error) {
	f, err := s.Store.MFA().Factors().GetFactor(ctx, tenant, factorID)
	if err != nil || f.UserID != userID || f.Kind != store.FactorTOTP || f.Confirmed {
		return nil, ErrInvalidCode
	}
	if err := s.checkTOTP(ctx, f, code); err != nil {
		return nil, err
	}
	enrolled, err := s.Enrolled(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	var codes []string
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.MFA().Factors().UpdateFactor(ctx, tenant, factorID, func(f *store.Factor) error {
			f.Confirmed = true
			return nil
		}); err != nil {
			return err
		}
		if !enrolled {
			if codes, err = s.replaceCodes(ctx, tx, tenant, userID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "mfa.factor.add",
			TargetType: "user", TargetID: userID,
			Changes: events.Changes{"factor": {After: map[string]any{"id": f.ID, "kind": f.Kind, "name": f.Name}}}})
	})
	return codes, err
}

// VerifyTOTP checks code against the user's confirmed TOTP factors; a
// step once accepted is refused ever after (decided in the database).
func (s *Service) VerifyTOTP(ctx context.Context, tenant store.TenantID, userID, code string) error {
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, tenant, userID)
	if err != nil {
		return err
	}
	for i := range fs {
		if fs[i].Kind != store.FactorTOTP || !fs[i].Confirmed {
			continue
		}
		if err := s.checkTOTP(ctx, &fs[i], code); err == nil || !errors.Is(err, ErrInvalidCode) {
			return err
		}
	}
	return ErrInvalidCode
}

// checkTOTP compares code with the steps now-drift..now+drift in constant
// time and spends the step that matched.
func (s *Service) checkTOTP(ctx context.Context, f *store.Factor, code string) error {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != 6 {
		return ErrInvalidCode
	}
	seed, err := s.Sealer.Open(f.Secret, aad(f.Tenant, f.ID))
	if err != nil {
		return err
	}
	now := s.Now()
	step := now.Unix() / period
	matched := int64(-1)
	for d := int64(-drift); d <= drift; d++ {
		want, err := totp.GenerateCodeCustom(string(seed), time.Unix((step+d)*period, 0), totpOpts)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step + d
		}
	}
	if matched < 0 {
		return ErrInvalidCode
	}
	err = s.Store.MFA().Factors().UseStep(ctx, f.Tenant, f.ID, matched, now)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return ErrInvalidCode // replayed, or removed meanwhile
	}
	return err
}

// ImportedTOTP answers a confirmed TOTP factor for userID holding seed, a
// base32 key another system enrolled (SHA-1, 6 digits, 30 s), sealed like
// any other; the caller stores it. It fails when seed is not base32 or
// shorter than 80 bits.
func (s *Service) ImportedTOTP(tenant store.TenantID, userID, seed string) (*store.Factor, error) {
	seed = strings.ToUpper(strings.TrimRight(strings.ReplaceAll(seed, " ", ""), "="))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(seed)
	if err != nil || len(raw) < 10 || len(raw) > 128 {
		return nil, errors.New("mfa: a TOTP seed is base32 of 10 to 128 bytes")
	}
	f := &store.Factor{ID: newID(), Tenant: tenant, UserID: userID, Kind: store.FactorTOTP,
		Name: "Authenticator app", Confirmed: true, CreatedAt: s.Now()}
	if f.Secret, err = s.Sealer.Seal([]byte(seed), aad(tenant, f.ID)); err != nil {
		return nil, err
	}
	return f, nil
}
