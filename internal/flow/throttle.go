package flow

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The password throttle. Failures are counted in the database (any node,
// any protocol) under four keys:
//
//   - per account and source network (SourceNetwork: an IPv4 address, an
//     IPv6 /64): after freeAttempts a growing delay, capped at maxDelay;
//     from challengeAfter on every attempt also needs a solved challenge
//     (challenge.go). This is what slows a guesser, and it holds only
//     where the guesses come from.
//   - per account, with a much higher ceiling (accountChallengeAt): past
//     it, attempts from networks the account never signed in from need a
//     challenge too. This catches guessing spread over many addresses
//     without touching the owner at home.
//   - per source network across accounts (ipLimit): a hard wait for that
//     network only (password spraying).
//   - per known device (the device cookie, device.go): a login from a
//     browser the user signed in from before skips the three counts above,
//     so nobody elsewhere can lock the owner out; deviceFailLimit wrong
//     passwords through one device cookie end that privilege for the
//     window (a stolen cookie is no unlimited pass).
//
// Nothing here ever locks the account as a whole: password reset and
// email sign-in never look at these counts.
const (
	maxDelay           = time.Minute
	challengeAfter     = lockAfter
	accountChallengeAt = 50
	deviceFailLimit    = lockAfter
)

// pairDelay is the wait after n failures of one account from one network.
func pairDelay(n int) time.Duration {
	if n <= freeAttempts {
		return 0
	}
	if n-freeAttempts >= 6 { // 2^6 s is past maxDelay
		return maxDelay
	}
	return min(time.Duration(1<<(n-freeAttempts))*time.Second, maxDelay)
}

// attempt is one admitted password attempt: what to count when it fails
// or clear when it succeeds.
type attempt struct {
	tenant               store.TenantID
	acct, pair, net, dev string
	now                  time.Time
	trusted              bool
}

// admit decides whether a password attempt for the account acct (userID
// when it names one) from ip may be checked now, and reserves it: the
// count is raised before the slow hash, so a burst of concurrent guesses
// cannot all pass before any failure is recorded. Errors:
// *ThrottledError, *ChallengeError (which unwraps to a *ThrottledError).
func (s *Service) admit(ctx context.Context, tenant store.TenantID, acct, userID, ip string) (*attempt, error) {
	th := s.Store.OAuth().Throttle()
	// Callers that cannot tell the address share one source of their own,
	// so guesses from addressed clients never hold them back.
	a := &attempt{tenant: tenant, acct: acct, net: SourceNetwork(ip), now: s.Now()}
	a.pair = acct + "@" + a.net
	if a.net == "" {
		a.pair = acct + "@?"
	}
	if id := s.knownDevice(ctx, tenant, userID, a.now); id != "" {
		a.dev = "dev:" + id
		n, _, err := th.Failures(ctx, tenant, a.dev, a.now, throttleWindow)
		if err != nil {
			return nil, err
		}
		if n < deviceFailLimit {
			a.trusted = true
			_, err := th.Fail(ctx, tenant, a.dev, a.now, throttleWindow)
			return a, err
		}
	}
	n, last, err := th.Failures(ctx, tenant, a.pair, a.now, throttleWindow)
	if err != nil {
		return nil, err
	}
	if wait := pairDelay(n) - a.now.Sub(last); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	if a.net != "" {
		ipN, ipLast, err := th.Failures(ctx, tenant, "ip:"+a.net, a.now, throttleWindow)
		if err != nil {
			return nil, err
		}
		if wait := throttleWindow - a.now.Sub(ipLast); ipN >= ipLimit && wait > 0 {
			return nil, &ThrottledError{RetryAfter: wait}
		}
	}
	challenge := n >= challengeAfter
	if !challenge {
		if challenge, err = s.accountUnderAttack(ctx, tenant, acct, userID, a.net, a.now); err != nil {
			return nil, err
		}
	}
	if !challenge && s.Risk != nil { // credential stuffing from this network (risk.go)
		if challenge, err = s.Risk.Stuffed(ctx, tenant, ip); err != nil {
			return nil, err
		}
	}
	if challenge {
		if err := s.checkAnswer(ctx, tenant, acct, a.net, a.now); err != nil {
			return nil, err
		}
	}
	got, err := th.Fail(ctx, tenant, a.pair, a.now, throttleWindow)
	if err != nil {
		return nil, err
	}
	if got > n+1 { // others raced this one in: hold it to the count they made
		if wait := pairDelay(got - 1); wait > 0 {
			return nil, &ThrottledError{RetryAfter: wait}
		}
		if got > challengeAfter && !challenge {
			return nil, s.newChallenge(tenant, acct, a.net, a.now, 0)
		}
	}
	return a, nil
}

// accountUnderAttack reports whether the account's failures from
// everywhere passed accountChallengeAt and network is not one its user
// signed in from.
func (s *Service) accountUnderAttack(ctx context.Context, tenant store.TenantID, acct, userID, network string, now time.Time) (bool, error) {
	n, _, err := s.Store.OAuth().Throttle().Failures(ctx, tenant, acct, now, throttleWindow)
	if err != nil || n < accountChallengeAt {
		return false, err
	}
	if userID == "" || network == "" {
		return true, nil
	}
	known, err := s.Store.OAuth().Recognition().KnownNetwork(ctx, tenant, userID, network, now.Add(-knownNetworkFor))
	return !known, err
}

// failed counts a wrong password: per account and per network (the
// reservation already counted the source or the device).
func (a *attempt) failed(ctx context.Context, th store.Throttle) error {
	if _, err := th.Fail(ctx, a.tenant, a.acct, a.now, throttleWindow); err != nil {
		return err
	}
	if a.net == "" {
		return nil
	}
	_, err := th.Fail(ctx, a.tenant, "ip:"+a.net, a.now, throttleWindow)
	return err
}

// succeeded clears the counts of this source (never the account's: the
// owner signing in does not reset a guesser elsewhere) and records the
// network as one the user signs in from.
func (s *Service) succeeded(ctx context.Context, a *attempt, userID string) error {
	th := s.Store.OAuth().Throttle()
	key := a.pair
	if a.trusted {
		key = a.dev
	}
	if err := th.Reset(ctx, a.tenant, key); err != nil {
		return err
	}
	if a.net == "" {
		return nil
	}
	return s.Store.OAuth().Recognition().TouchNetwork(ctx, a.tenant, userID, a.net, a.now)
}
