package oidc

// The device authorization grant (RFC 8628): a device without a browser
// (a TV, a CLI) gets a device code and a short user code; the user enters
// the user code at {issuer}/device on another screen, signs in through the
// hosted login (the same flow as every other sign-in) and approves; the
// device, polling the token endpoint, then receives tokens minted by
// Provider.issue like those of the other grants.
//
// The op library routes /device_authorization and the token endpoint's
// device_code grant to server.DeviceAuthorization and server.DeviceToken
// after authenticating the client by its method (public clients by
// client_id). The user-code page lives in internal/web and calls the
// exported Device* methods below.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	// deviceCodePrefix marks device codes for secret scanners.
	deviceCodePrefix = "gh_dc_"
	// deviceLifetime is how long the user has to approve (expires_in).
	deviceLifetime = 10 * time.Minute
	// devicePollInterval is the interval the device must keep between polls.
	devicePollInterval = 5 * time.Second
	// devicePollTolerance forgives network jitter: a poll is slow_down only
	// when it comes sooner than devicePollInterval minus this.
	devicePollTolerance = time.Second
	// deviceGrace keeps an authorization readable after its end so that a
	// late poll learns expired_token rather than invalid_grant: the store's
	// ExpiresAt is the advertised end plus deviceGrace (see deviceExpiry).
	deviceGrace = 10 * time.Minute
	// userCodeAlphabet has no vowels (no words) and no look-alikes (0/O, 1/I).
	userCodeAlphabet = op.CharSetBase20
	userCodeLength   = 8
	// maxDeviceScopes bounds the scope parameter.
	maxDeviceScopes = 32
)

// Device authorization states (store.DeviceCode.State).
const (
	devicePending  = "pending"
	deviceApproved = "approved"
	deviceDenied   = "denied"
)

// deviceUserCode is the op configuration of our user codes (XXXX-XXXX).
var deviceUserCode = op.UserCodeConfig{CharSet: userCodeAlphabet, CharAmount: userCodeLength, DashInterval: 4}

// deviceExpiry is the advertised end of an authorization.
func deviceExpiry(d *store.DeviceCode) time.Time { return d.ExpiresAt.Add(-deviceGrace) }

// newUserCode draws userCodeLength letters of userCodeAlphabet uniformly
// (rejection sampling, so no letter is likelier than another): 20^8, about
// 2^34.6 codes, guessed against a page that throttles wrong guesses.
func newUserCode() (string, error) {
	const n = len(userCodeAlphabet)
	limit := byte(256 / n * n)
	out := make([]byte, 0, userCodeLength)
	buf := make([]byte, 16)
	for len(out) < userCodeLength {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < limit && len(out) < userCodeLength {
				out = append(out, userCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// normalizeUserCode turns a user code as typed (any case, with dashes or
// spaces) into the stored form; ok is false when it cannot be one of ours.
func normalizeUserCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case r < 128 && strings.IndexByte(userCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLength {
		return "", false
	}
	return b.String(), true
}

// formatUserCode shows a stored user code as the user sees it: XXXX-XXXX.
func formatUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// deviceFamily is the token family of what a device code produced, so a
// second use can revoke it; derived from the code's hash, which is stored.
func deviceFamily(hash []byte) string { return "dc_" + hex.EncodeToString(hash[:16]) }

// DeviceAuthorization answers the device authorization request (RFC 8628
// section 3.1). The library has authenticated the client by its method.
func (s *server) DeviceAuthorization(ctx context.Context, r *op.ClientRequest[oidc.DeviceAuthorizationRequest]) (*op.Response, error) {
	c, ok := r.Client.(*client)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return s.p.deviceAuthorization(ctx, c, r.Data.Scopes)
}

func (p *Provider) deviceAuthorization(ctx context.Context, c *client, requested []string) (*op.Response, error) {
	if !c.hasGrant(oidc.GrantTypeDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the device authorization grant")
	}
	scopes, err := deviceScopes(c, requested)
	if err != nil {
		return nil, err
	}
	tn := tenantFrom(ctx)
	now := p.now()
	for range 5 { // a user code taken in the tenant: draw another
		deviceCode, err := randomToken(deviceCodePrefix)
		if err != nil {
			return nil, p.storage.hide(ctx, err)
		}
		userCode, err := newUserCode()
		if err != nil {
			return nil, p.storage.hide(ctx, err)
		}
		err = p.store.OAuth().DeviceCodes().CreateDeviceCode(ctx, &store.DeviceCode{
			Tenant: tn.ID, DeviceCodeHash: sha(deviceCode), UserCode: userCode, ClientID: c.c.ID, Scopes: scopes,
			ExpiresAt: now.Add(deviceLifetime + deviceGrace), State: devicePending,
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, p.storage.hide(ctx, err)
		}
		verification := p.issuer(ctx) + "/device"
		resp := op.NewResponse(&oidc.DeviceAuthorizationResponse{
			DeviceCode: deviceCode, UserCode: formatUserCode(userCode),
			VerificationURI:         verification,
			VerificationURIComplete: verification + "?user_code=" + url.QueryEscape(formatUserCode(userCode)),
			ExpiresIn:               int(deviceLifetime / time.Second), Interval: int(devicePollInterval / time.Second),
		})
		resp.Header.Set("Cache-Control", "no-store")
		return resp, nil
	}
	return nil, p.storage.hide(ctx, errors.New("oidc: no free user code after 5 draws"))
}

// deviceScopes checks the requested scopes: each one the client may ask
// for (invalid_scope otherwise), no duplicates kept.
func deviceScopes(c *client, requested []string) ([]string, error) {
	if len(requested) > maxDeviceScopes {
		return nil, oidc.ErrInvalidScope().WithDescription("too many scopes")
	}
	var out []string
	for _, sc := range requested {
		if len(sc) > 128 || !c.IsScopeAllowed(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("a requested scope is not allowed")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// pollResult is what one token request for a device code comes to.
type pollResult int

const (
	pollPending     pollResult = iota // authorization_pending
	pollSlowDown                      // slow_down
	pollIssue                         // approved: issue tokens, now
	pollDenied                        // access_denied
	pollExpired                       // expired_token
	pollUsed                          // invalid_grant; tokens were issued before
	pollOtherClient                   // invalid_grant; nothing changes
)

// poll decides a token request of clientID for d at now, updating d as
// the store should keep it: LastPoll on every poll of the client it was
// issued to while pending or approved, Done once approved. The caller runs
// it inside UpdateDeviceCode, which holds the row, so of racing polls of
// an approved code exactly one sees pollIssue.
func poll(d *store.DeviceCode, clientID string, now time.Time) pollResult {
	return pollTurn{owner: d.ClientID, state: d.State, expiry: deviceExpiry(d), interval: devicePollInterval,
		done: &d.Done, lastPoll: &d.LastPoll}.decide(clientID, now)
}

// pollTurn is one poll of a pending authorization (a device code, a CIBA
// request): who it was issued to, its state and end, the interval to
// keep, and the fields a poll updates.
type pollTurn struct {
	owner, state string
	expiry       time.Time
	interval     time.Duration
	done         *bool
	lastPoll     **time.Time
}

// decide answers a poll of clientID at now: LastPoll is set on every poll
// of the owner while pending or approved, Done once approved.
func (p pollTurn) decide(clientID string, now time.Time) pollResult {
	switch {
	case p.owner != clientID:
		return pollOtherClient
	case *p.done:
		return pollUsed
	case !now.Before(p.expiry):
		return pollExpired
	case p.state == deviceDenied:
		return pollDenied
	case p.state == deviceApproved:
		*p.done, *p.lastPoll = true, &now
		return pollIssue
	case p.state != devicePending:
		return pollDenied
	}
	last := *p.lastPoll
	*p.lastPoll = &now
	if last != nil && now.Sub(*last) < p.interval-devicePollTolerance {
		return pollSlowDown
	}
	return pollPending
}

var errInvalidDeviceCode = func() *oidc.Error {
	return oidc.ErrInvalidGrant().WithDescription("device code invalid or expired")
}

// DeviceToken answers the token endpoint's device_code grant (RFC 8628
// section 3.4); the library has checked that the client holds the grant.
func (s *server) DeviceToken(ctx context.Context, r *op.ClientRequest[oidc.DeviceAccessTokenRequest]) (*op.Response, error) {
	c, ok := r.Client.(*client)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return s.p.deviceToken(ctx, c, r.Data.DeviceCode)
}

func (p *Provider) deviceToken(ctx context.Context, c *client, deviceCode string) (*op.Response, error) {
	if !strings.HasPrefix(deviceCode, deviceCodePrefix) || len(deviceCode) > 128 {
		return nil, errInvalidDeviceCode()
	}
	tn := tenantFrom(ctx).ID
	hash := sha(deviceCode)
	// DPoP first (dpop.go): a use_dpop_nonce answer must leave the device
	// code for the retry.
	jkt, err := p.tokenBinding(ctx, c)
	if err != nil {
		return nil, err
	}
	var res pollResult
	d, err := p.store.OAuth().DeviceCodes().UpdateDeviceCode(ctx, tn, hash, func(d *store.DeviceCode) error {
		res = poll(d, c.c.ID, p.now())
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidDeviceCode()
	case err != nil:
		return nil, p.storage.hide(ctx, err)
	}
	switch res {
	case pollPending:
		return nil, oidc.ErrAuthorizationPending()
	case pollSlowDown:
		return nil, oidc.ErrSlowDown()
	case pollDenied:
		return nil, oidc.ErrAccessDenied()
	case pollExpired:
		return nil, oidc.ErrExpiredDeviceCode()
	case pollOtherClient:
		return nil, oidc.ErrInvalidGrant().WithDescription("device code was issued to another client")
	case pollUsed:
		// A second use: what the first produced is revoked, as for codes.
		if err := p.store.OAuth().Tokens().RevokeFamily(ctx, tn, deviceFamily(hash)); err != nil {
			return nil, p.storage.hide(ctx, err)
		}
		p.log.WarnContext(ctx, "oidc: device code reused; its tokens are revoked", "client_id", c.c.ID)
		return nil, oidc.ErrInvalidGrant().WithDescription("device code already used")
	}
	if u, err := p.store.Users().GetUser(ctx, tn, d.UserID); err != nil || u.Status != store.UserActive {
		return nil, oidc.ErrAccessDenied().WithDescription("the user can no longer sign in")
	}
	// The tokens belong to the device, not to the browser session that
	// approved it: no sid, and ending that session does not end them.
	g := grant{grantType: string(oidc.GrantTypeDeviceCode), tenant: tn, issuer: p.issuer(ctx), client: c, userID: d.UserID, scopes: d.Scopes,
		familyID: deviceFamily(hash), kind: store.GrantDevice, authTime: d.AuthTime, amr: d.AMR, jkt: jkt}
	tok, err := p.issue(ctx, g, c.hasGrant(oidc.GrantTypeRefreshToken))
	if err != nil {
		return nil, p.storage.hide(ctx, err)
	}
	resp := op.NewResponse(tok)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// DeviceByUserCode answers the pending, unexpired device authorization of
// a user code as the user typed it; store.ErrNotFound when there is none
// (unknown, expired, already approved or denied).
func (p *Provider) DeviceByUserCode(ctx context.Context, t *store.Tenant, userCode string) (*store.DeviceCode, error) {
	uc, ok := normalizeUserCode(userCode)
	if !ok {
		return nil, store.ErrNotFound
	}
	d, err := p.store.OAuth().DeviceCodes().GetByUserCode(ctx, t.ID, uc)
	if err != nil {
		return nil, err
	}
	if d.State != devicePending || d.Done || !p.now().Before(deviceExpiry(d)) {
		return nil, store.ErrNotFound
	}
	return d, nil
}

// DecideDevice records the signed-in user's answer for the device
// authorization of userCode: approved (for the session's user) or denied.
// store.ErrNotFound when it is no longer pending.
func (p *Provider) DecideDevice(ctx context.Context, t *store.Tenant, userCode string, sess *store.Session, approve bool) error {
	d, err := p.DeviceByUserCode(ctx, t, userCode)
	if err != nil {
		return err
	}
	now := p.now()
	_, err = p.store.OAuth().DeviceCodes().UpdateDeviceCode(ctx, t.ID, d.DeviceCodeHash, func(x *store.DeviceCode) error {
		if x.State != devicePending || x.Done || x.UserCode != d.UserCode || !now.Before(deviceExpiry(x)) {
			return store.ErrNotFound
		}
		if approve {
			x.State, x.UserID, x.SessionID, x.AuthTime, x.AMR = deviceApproved, sess.UserID, sess.ID, sess.AuthTime, sess.AMR
		} else {
			x.State = deviceDenied
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.log.InfoContext(ctx, "oidc: device authorization decided", "client_id", d.ClientID, "approved", approve,
		"user_id", sess.UserID)
	return nil
}
