package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Passkeys (WebAuthn) with github.com/go-webauthn/webauthn. A ceremony's
// session data waits in the store under the hash of a ticket the browser
// holds, and is taken once. A credential (public key, counter, flags) is
// sealed like a TOTP seed; its id is kept in clear for lookup.

// ceremonyTTL bounds a ceremony (the browser's prompt has 5 minutes).
const ceremonyTTL = 5 * time.Minute

// Errors of passkeys. ErrPasskey covers every failed ceremony (bad or
// replayed assertion, unknown credential, missing user verification): a
// caller tells the user only that the passkey was not accepted.
var ErrPasskey = errors.New("mfa: passkey not accepted")

// Passkey results name what the login proved, as AMR values.
type Passkey struct {
	UserID string
	// AMR is "hwk" plus "user" when the authenticator verified the user
	// (PIN or biometric).
	AMR []string
}

// waUser adapts a user and their passkeys to the library.
type waUser struct {
	id, name string
	creds    []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// relyingParty builds the library for a tenant: the RP id is the public
// URL's host, the origin the public URL's.
func (s *Service) relyingParty(t *store.Tenant, set tenancy.MFA) (*webauthn.WebAuthn, error) {
	pu, err := url.Parse(s.PublicURL)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("mfa: public URL %q has no host", s.PublicURL)
	}
	uv := protocol.VerificationPreferred
	if set.RequireUserVerification {
		uv = protocol.VerificationRequired
	}
	conveyance := protocol.PreferNoAttestation
	if len(set.AAGUIDs) > 0 {
		conveyance = protocol.PreferDirectAttestation
	}
	return webauthn.New(&webauthn.Config{
		RPID: pu.Hostname(), RPDisplayName: t.Name, RPOrigins: []string{pu.Scheme + "://" + pu.Host},
		AttestationPreference: conveyance,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: uv,
		},
	})
}

// rpFor answers the tenant's MFA settings and its relying party.
func (s *Service) rpFor(t *store.Tenant) (*webauthn.WebAuthn, tenancy.MFA, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil, set.MFA, err
	}
	rp, err := s.relyingParty(t, set.MFA)
	return rp, set.MFA, err
}

// userPasskeys loads the user's confirmed passkeys, opened.
func (s *Service) userPasskeys(ctx context.Context, tenant store.TenantID, userID string) ([]webauthn.Credential, []store.Factor, error) {
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, tenant, userID)
	if err != nil {
		return nil, nil, err
	}
	var creds []webauthn.Credential
	var rows []store.Factor
	for _, f := range fs {
		if f.Kind != store.FactorWebAuthn || !f.Confirmed {
			continue
		}
		c, err := s.openCredential(&f)
		if err != nil {
			return nil, nil, err
		}
		// The row's counter is the one compared (kept in step with the
		// sealed credential, and readable by an operator).
		c.Authenticator.SignCount = uint32(min(max(f.SignCount, 0), 1<<32-1))
		creds, rows = append(creds, *c), append(rows, f)
	}
	return creds, rows, nil
}

func (s *Service) openCredential(f *store.Factor) (*webauthn.Credential, error) {
	raw, err := s.Sealer.Open(f.Secret, aad(f.Tenant, f.ID))
	if err != nil {
		return nil, err
	}
	var c webauthn.Credential
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("mfa: stored credential: %w", err)
	}
	return &c, nil
}

// putCeremony stores session data and answers the ticket.
func (s *Service) putCeremony(ctx context.Context, tenant store.TenantID, sd *webauthn.SessionData) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	ticket := "gh_wa_" + base64.RawURLEncoding.EncodeToString(raw)
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(ticket))
	return ticket, s.Store.MFA().Ceremonies().PutCeremony(ctx, tenant, h[:], data, s.Now().Add(ceremonyTTL))
}

// startCeremony keeps a begun ceremony's session data and answers the
// ticket and the options (JSON) for the browser.
func (s *Service) startCeremony(ctx context.Context, tenant store.TenantID, opts any, sd *webauthn.SessionData, err error) (string, []byte, error) {
	if err != nil {
		return "", nil, err
	}
	ticket, err := s.putCeremony(ctx, tenant, sd)
	if err != nil {
		return "", nil, err
	}
	out, err := json.Marshal(opts)
	return ticket, out, err
}

func (s *Service) takeCeremony(ctx context.Context, tenant store.TenantID, ticket string) (*webauthn.SessionData, error) {
	if ticket == "" || len(ticket) > 128 {
		return nil, ErrPasskey
	}
	h := sha256.Sum256([]byte(ticket))
	data, err := s.Store.MFA().Ceremonies().TakeCeremony(ctx, tenant, h[:], s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrPasskey
	}
	if err != nil {
		return nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(data, &sd); err != nil {
		return nil, ErrPasskey
	}
	return &sd, nil
}

// BeginPasskeyRegistration starts adding a passkey for u: it answers the
// ticket and the PublicKeyCredentialCreationOptions (JSON) for
// navigator.credentials.create. The user's passkeys are excluded.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, t *store.Tenant, u *store.User) (string, []byte, error) {
	rp, _, err := s.rpFor(t)
	if err != nil {
		return "", nil, err
	}
	creds, _, err := s.userPasskeys(ctx, t.ID, u.ID)
	if err != nil {
		return "", nil, err
	}
	wu := &waUser{id: u.ID, name: u.Email, creds: creds}
	var excl []protocol.CredentialDescriptor
	for _, c := range creds {
		excl = append(excl, c.Descriptor())
	}
	opts, sd, err := rp.BeginRegistration(wu, webauthn.WithExclusions(excl))
	return s.startCeremony(ctx, t.ID, opts, sd, err)
}

// FinishPasskeyRegistration checks the browser's attestation (body, the
// PublicKeyCredential as JSON) for the ceremony of ticket and stores the
// passkey under name (audited). ErrPasskey when it does not verify, when
// the tenant requires user verification and the authenticator did not
// do it, or when the tenant keeps an AAGUID allow-list that lacks it.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, actor events.Actor, t *store.Tenant, u *store.User, ticket, name string, body io.Reader) error {
	sd, err := s.takeCeremony(ctx, t.ID, ticket)
	if err != nil {
		return err
	}
	rp, set, err := s.rpFor(t)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(io.LimitReader(body, 64<<10))
	if err != nil {
		return ErrPasskey
	}
	creds, _, err := s.userPasskeys(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	c, err := rp.CreateCredential(&waUser{id: u.ID, name: u.Email, creds: creds}, *sd, parsed)
	if err != nil {
		return ErrPasskey
	}
	if set.RequireUserVerification && !c.Flags.UserVerified {
		return ErrPasskey
	}
	if len(set.AAGUIDs) > 0 {
		id, err := uuid.FromBytes(c.Authenticator.AAGUID)
		if err != nil || !slices.Contains(set.AAGUIDs, id.String()) {
			return ErrPasskey
		}
	}
	if name = strings.TrimSpace(name); name == "" || len(name) > 100 {
		name = "Passkey"
	}
	sealedID := newID()
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f := &store.Factor{ID: sealedID, Tenant: t.ID, UserID: u.ID, Kind: store.FactorWebAuthn, Name: name,
		CredentialID: c.ID, Confirmed: true, SignCount: int64(c.Authenticator.SignCount), CreatedAt: s.Now()}
	if f.Secret, err = s.Sealer.Seal(raw, aad(t.ID, f.ID)); err != nil {
		return err
	}
	enrolled, err := s.Enrolled(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.MFA().Factors().CreateFactor(ctx, f); err != nil {
			return err
		}
		if !enrolled { // recovery codes come with the first factor, regenerated on the account page
			if _, err := s.replaceCodes(ctx, tx, t.ID, u.ID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: t.ID, Action: "mfa.factor.add",
			TargetType: "user", TargetID: u.ID,
			Changes: events.Changes{"factor": {After: map[string]any{"id": f.ID, "kind": f.Kind, "name": f.Name}}}})
	})
}

// BeginPasskeyLogin starts an assertion: for userID's passkeys (a second
// factor) or, with userID "", for any discoverable credential (a
// passwordless first factor, conditional UI). It answers the ticket and
// the PublicKeyCredentialRequestOptions (JSON).
func (s *Service) BeginPasskeyLogin(ctx context.Context, t *store.Tenant, userID string) (string, []byte, error) {
	rp, _, err := s.rpFor(t)
	if err != nil {
		return "", nil, err
	}
	uv := webauthn.WithUserVerification(rp.Config.AuthenticatorSelection.UserVerification)
	var (
		opts *protocol.CredentialAssertion
		sd   *webauthn.SessionData
	)
	if userID == "" {
		opts, sd, err = rp.BeginDiscoverableLogin(uv)
	} else {
		creds, _, lerr := s.userPasskeys(ctx, t.ID, userID)
		if lerr != nil {
			return "", nil, lerr
		}
		if len(creds) == 0 {
			return "", nil, ErrNoFactor
		}
		opts, sd, err = rp.BeginLogin(&waUser{id: userID, creds: creds}, uv)
	}
	return s.startCeremony(ctx, t.ID, opts, sd, err)
}

// FinishPasskeyLogin verifies an assertion (body, JSON) for the ceremony
// of ticket. For a second factor userID names the user who must own the
// credential; "" accepts any user's discoverable credential. The stored
// counter is updated; a counter that went backwards (a cloned
// authenticator) is refused and audited as mfa.passkey.counter_regression.
func (s *Service) FinishPasskeyLogin(ctx context.Context, t *store.Tenant, userID, ticket string, body io.Reader) (*Passkey, error) {
	sd, err := s.takeCeremony(ctx, t.ID, ticket)
	if err != nil {
		return nil, err
	}
	rp, set, err := s.rpFor(t)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(io.LimitReader(body, 64<<10))
	if err != nil {
		return nil, ErrPasskey
	}
	f, err := s.Store.MFA().Factors().GetFactorByCredential(ctx, t.ID, parsed.RawID)
	if err != nil || !f.Confirmed || (userID != "" && f.UserID != userID) {
		return nil, ErrPasskey
	}
	creds, _, err := s.userPasskeys(ctx, t.ID, f.UserID)
	if err != nil {
		return nil, err
	}
	wu := &waUser{id: f.UserID, creds: creds}
	var c *webauthn.Credential
	if userID == "" {
		_, c, err = rp.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, []byte(f.UserID)) {
				return nil, ErrPasskey
			}
			return wu, nil
		}, *sd, parsed)
	} else {
		c, err = rp.ValidateLogin(wu, *sd, parsed)
	}
	if err != nil {
		return nil, ErrPasskey
	}
	if set.RequireUserVerification && !c.Flags.UserVerified {
		return nil, ErrPasskey
	}
	if c.Authenticator.CloneWarning {
		_ = s.Audit.Record(ctx, s.Store, events.Actor{Type: "system", ID: "mfa"}, events.Entry{Tenant: t.ID,
			Action: "mfa.passkey.counter_regression", TargetType: "user", TargetID: f.UserID,
			Changes: events.Changes{"sign_count": {Before: f.SignCount, After: int64(c.Authenticator.SignCount)}, "factor": {After: f.ID}}})
		return nil, ErrPasskey
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if _, err := s.Store.MFA().Factors().UpdateFactor(ctx, t.ID, f.ID, func(nf *store.Factor) error {
		if nf.Secret, err = s.Sealer.Seal(raw, aad(t.ID, nf.ID)); err != nil {
			return err
		}
		nf.SignCount, nf.LastUsedAt = int64(c.Authenticator.SignCount), &now
		return nil
	}); err != nil {
		return nil, err
	}
	p := &Passkey{UserID: f.UserID, AMR: []string{"hwk"}}
	if c.Flags.UserVerified {
		p.AMR = append(p.AMR, "user")
	}
	return p, nil
}
