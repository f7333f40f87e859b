package store

import (
	"context"
	"errors"
	"time"
)

// SelfServiceRepos are the aggregates of customer self-service (sign-up,
// verification, recovery, passwordless login, invitations, mail). Store
// and Tx provide them through SelfService().
type SelfServiceRepos interface {
	OneTimeTokens() OneTimeTokens
	MailQueue() MailQueue
	Acceptances() Acceptances
	// NoticePrefs and Announcements are in notices.go.
	NoticePrefs() NoticePrefs
	Announcements() Announcements
}

// ErrWrongCode: UseCode found a live token whose code did not match; the
// attempt was counted.
var ErrWrongCode = errors.New("store: wrong code")

// Token purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
	PurposeMagicLink     = "magic_link"
	PurposeInvitation    = "invitation"
	// PurposeSignupBrowser binds an account to the browser that signed
	// it up (the hash of a secret kept in that browser's cookie), so the
	// first proof of the mailbox can tell whether it came from there.
	PurposeSignupBrowser = "signup_browser"
	// PurposeMFAEmailCode is a mailed second-factor code (internal/mfa).
	PurposeMFAEmailCode = "mfa_email"
)

// OneTimeToken is a single-use, short-lived secret mailed to a user: a link
// token (Hash is its SHA-256) and optionally a short code sent with it
// (CodeHash, bounded by MaxAttempts). Only hashes are stored.
type OneTimeToken struct {
	ID          string
	Tenant      TenantID
	Purpose     string
	UserID      string
	Hash        []byte
	CodeHash    []byte
	Attempts    int
	MaxAttempts int
	// Data is what the token carries for its purpose (the authorization
	// request a magic link continues, an email to change to), never secret.
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OneTimeTokens stores one-time tokens. A token is live while it is unused,
// unexpired (ExpiresAt > now) and, for codes, has attempts left; whatever
// is not live answers ErrNotFound, so callers cannot tell an unknown token
// from a spent one.
type OneTimeTokens interface {
	// CreateToken inserts t (CreatedAt now when unset). ErrNotFound when
	// the user is missing in the tenant, ErrConflict when the hash is taken.
	CreateToken(ctx context.Context, t *OneTimeToken) error
	// PeekToken answers the live token of (purpose, hash) without spending
	// it (a page shows whether a link still works before asking for input).
	PeekToken(ctx context.Context, tenant TenantID, purpose string, hash []byte) (*OneTimeToken, error)
	// ConsumeToken marks the live token of (purpose, hash) used and answers
	// it. Decided in the database: of concurrent calls exactly one wins.
	ConsumeToken(ctx context.Context, tenant TenantID, purpose string, hash []byte) (*OneTimeToken, error)
	// UseCode counts an attempt at the live token id of purpose and asks
	// match whether the stored code hash is the one offered (match must
	// compare in constant time). On a match the token is marked used and
	// answered; otherwise the attempt stays counted and ErrWrongCode is
	// returned with the token (so the caller can count the failure against
	// its user). Attempts are serialised per token across nodes. With
	// userID set, a token of another user answers ErrNotFound before
	// anything is counted or spent.
	UseCode(ctx context.Context, tenant TenantID, id, purpose, userID string, match func(codeHash []byte) bool) (*OneTimeToken, error)
	// RevokeUserTokens spends every live token of the user for purpose.
	RevokeUserTokens(ctx context.Context, tenant TenantID, userID, purpose string) error
	// HasLiveToken reports whether the user holds a live token of purpose.
	HasLiveToken(ctx context.Context, tenant TenantID, userID, purpose string) (bool, error)
	// DeleteExpiredTokens removes, in every tenant, tokens that expired or
	// were used before t; it answers how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error)
}

// MailStatus is where a queued mail is.
type MailStatus string

// Mail states: pending mails wait for NextAttemptAt; sending ones are
// leased by a worker until LeaseUntil; sent and failed ones are done.
const (
	MailPending MailStatus = "pending"
	MailSending MailStatus = "sending"
	MailSent    MailStatus = "sent"
	MailFailed  MailStatus = "failed"
)

// Mail is one queued message. Sealed holds its rendered content sealed
// with the master key (it carries links); it is cleared once sent.
type Mail struct {
	ID            string
	Tenant        TenantID
	To            string
	Kind          string
	Sealed        []byte
	Status        MailStatus
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// MailQueue is the durable outgoing mail queue, shared by every node.
type MailQueue interface {
	// EnqueueMail inserts m as pending (CreatedAt and NextAttemptAt now
	// when unset). ErrNotFound when the tenant does not exist.
	EnqueueMail(ctx context.Context, m *Mail) error
	// ClaimMail leases up to limit due mails for lease: pending ones whose
	// NextAttemptAt has come, and sending ones whose lease ran out (their
	// worker died). Each claim counts an attempt. Concurrent claims from
	// any node never answer the same mail while its lease holds.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// MarkSent records delivery and clears the content.
	MarkSent(ctx context.Context, id string, at time.Time) error
	// MarkRetry puts a claimed mail back as pending until next with the
	// cause, or, with final, gives it up as failed (content cleared).
	MarkRetry(ctx context.Context, id string, next time.Time, cause string, final bool) error
	// GetMail answers a mail in any state; ErrNotFound when unknown.
	GetMail(ctx context.Context, id string) (*Mail, error)
	// PurgeMail removes, in every tenant, sent and failed mails created
	// before t; it answers how many.
	PurgeMail(ctx context.Context, before time.Time) (int64, error)
}

// Acceptance records that a user accepted a version of a tenant's legal
// document ("terms" or "privacy") at a time, from an address.
type Acceptance struct {
	Tenant     TenantID
	UserID     string
	Document   string
	Version    string
	AcceptedAt time.Time
	IP         string
}

// Acceptances stores acceptances of terms and privacy notices.
type Acceptances interface {
	// RecordAcceptance inserts a; accepting the same version again keeps
	// the first record. ErrNotFound when the user is missing.
	RecordAcceptance(ctx context.Context, a *Acceptance) error
	// ListAcceptances answers the user's acceptances, oldest first.
	ListAcceptances(ctx context.Context, tenant TenantID, userID string) ([]Acceptance, error)
}
