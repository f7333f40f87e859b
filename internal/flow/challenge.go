package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The login challenge: past the throttle's threshold a password attempt
// from a source the account does not know needs a proof of work instead
// of meeting a hard lock. The challenge is stateless and signed:
// "v1.{expiry}.{bits}.{nonce}.{mac}", the mac an HMAC-SHA256 over tenant,
// account key, source network and the fields, so it holds only for the
// account and network it was issued for. An answer is a decimal counter
// such that SHA-256(challenge "." counter) starts with bits zero bits; the
// server checks it with one hash and spends the nonce in the database
// (store.Throttle), so an answer works once on any node. The hosted login
// page solves it in the browser (about 2^bits hashes); an LDAP client
// cannot, and meets the throttle's wait instead.

const (
	// ChallengeBits is the work asked: 2^16 hashes on average, a second or
	// less in a browser, nothing an owner notices.
	ChallengeBits = 16
	challengeTTL  = 10 * time.Minute
)

// ChallengeError: the attempt needs a solved challenge. It unwraps to a
// *ThrottledError, so a caller that cannot show the challenge answers
// "wait" as before.
type ChallengeError struct {
	Challenge  string
	Bits       int
	RetryAfter time.Duration
}

func (e *ChallengeError) Error() string { return "flow: a solved challenge is required" }

// Unwrap makes the challenge a throttle to callers that cannot solve it.
func (e *ChallengeError) Unwrap() error { return &ThrottledError{RetryAfter: e.RetryAfter} }

type answerKey struct{}

type answer struct{ challenge, solution string }

// WithChallengeAnswer carries a page's solved challenge to the login flow.
func WithChallengeAnswer(ctx context.Context, challenge, solution string) context.Context {
	if challenge == "" || len(challenge) > 256 || len(solution) > 20 {
		return ctx
	}
	return context.WithValue(ctx, answerKey{}, answer{challenge, solution})
}

func (s *Service) challengeMAC(tenant store.TenantID, acct, network, body string) string {
	m := hmac.New(sha256.New, s.subKey("login-challenge"))
	m.Write([]byte(string(tenant) + "\x00" + acct + "\x00" + network + "\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newChallenge issues a challenge for (acct, network).
func (s *Service) newChallenge(tenant store.TenantID, acct, network string, now time.Time, retry time.Duration) error {
	if len(s.MasterKey) == 0 {
		return &ThrottledError{RetryAfter: max(retry, time.Second)}
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	body := fmt.Sprintf("v1.%d.%d.%s", now.Add(challengeTTL).Unix(), ChallengeBits, base64.RawURLEncoding.EncodeToString(raw))
	return &ChallengeError{Challenge: body + "." + s.challengeMAC(tenant, acct, network, body), Bits: ChallengeBits, RetryAfter: retry}
}

// checkAnswer accepts ctx's answer when it solves a live challenge issued
// for (acct, network) that was not answered before; otherwise it answers
// a new *ChallengeError.
func (s *Service) checkAnswer(ctx context.Context, tenant store.TenantID, acct, network string, now time.Time) error {
	a, _ := ctx.Value(answerKey{}).(answer)
	parts := strings.Split(a.challenge, ".")
	if len(parts) != 5 || parts[0] != "v1" || len(s.MasterKey) == 0 {
		return s.newChallenge(tenant, acct, network, now, 0)
	}
	body := strings.Join(parts[:4], ".")
	exp, err1 := strconv.ParseInt(parts[1], 10, 64)
	need, err2 := strconv.Atoi(parts[2])
	switch {
	case err1 != nil, err2 != nil, need < ChallengeBits,
		!hmac.Equal([]byte(parts[4]), []byte(s.challengeMAC(tenant, acct, network, body))),
		now.Unix() >= exp, !Solves(a.challenge, a.solution, need):
		return s.newChallenge(tenant, acct, network, now, 0)
	}
	n, err := s.Store.OAuth().Throttle().Fail(ctx, tenant, "challenge:"+parts[3], now, challengeTTL)
	if err != nil {
		return err
	}
	if n > 1 { // answered before
		return s.newChallenge(tenant, acct, network, now, 0)
	}
	return nil
}

// Solves reports whether solution (a decimal counter) answers challenge:
// SHA-256(challenge "." solution) starts with need zero bits.
func Solves(challenge, solution string, need int) bool {
	if solution == "" || len(solution) > 20 {
		return false
	}
	if _, err := strconv.ParseUint(solution, 10, 64); err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(challenge + "." + solution))
	zero := 0
	for _, b := range sum {
		if b != 0 {
			zero += bits.LeadingZeros8(b)
			break
		}
		zero += 8
	}
	return zero >= need
}

// Solve finds the smallest answer to challenge (what the hosted page's
// script does); for tests and command-line clients. "" when none below
// 2^32 (a need far beyond ChallengeBits).
func Solve(challenge string, need int) string {
	for i := uint64(0); i < 1<<32; i++ {
		if s := strconv.FormatUint(i, 10); Solves(challenge, s, need) {
			return s
		}
	}
	return ""
}
