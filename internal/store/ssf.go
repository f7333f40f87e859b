package store

import (
	"context"
	"time"
)

// SSF stream states (OpenID Shared Signals Framework 1.0, 8.1.2): an
// enabled stream sends, a paused one keeps its events for later, a
// disabled one drops them.
const (
	SSFEnabled  = "enabled"
	SSFPaused   = "paused"
	SSFDisabled = "disabled"
)

// SSF delivery methods: push (RFC 8935) and poll (RFC 8936).
const (
	SSFPush = "urn:ietf:rfc:8935"
	SSFPoll = "urn:ietf:rfc:8936"
)

// SSFStream is one receiver's stream of a tenant's transmitter. For push,
// EndpointURL is the receiver's and SealedAuth its Authorization header
// value, sealed with the master key bound to the row (nil: none). For
// poll the endpoint is ours and not stored.
type SSFStream struct {
	Tenant          TenantID
	ID              string
	Audience        string
	Method          string
	EndpointURL     string
	SealedAuth      []byte
	EventsRequested []string
	EventsDelivered []string
	Description     string
	Status          string
	StatusReason    string
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// SSF set states: pending (to push, or waiting for the poller's
// acknowledgement), delivered, failed (the receiver refused it, or
// answered an error for it, and it is not sent again).
const (
	SETPending   = "pending"
	SETDelivered = "delivered"
	SETFailed    = "failed"
)

// SSFSet is one Security Event Token queued for one stream. EventID is
// the catalogue event it came from (the jti for a verification event), so
// an event the outbox delivers twice makes one SET per stream. Token is
// the signed SET while it is pending; it is cleared once it is delivered
// or failed (it may name the user).
type SSFSet struct {
	Tenant      TenantID
	StreamID    string
	JTI         string
	EventID     string
	Token       string
	State       string
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt *time.Time
}

// SSFRepos stores Shared Signals streams, their subjects and the SETs
// queued for them. Every call is scoped by tenant: another tenant's
// stream is ErrNotFound.
type SSFRepos interface {
	// CreateSSFStream inserts s (ID, Tenant set by the caller; Version
	// becomes 1). ErrNotFound when the tenant does not exist.
	CreateSSFStream(ctx context.Context, s *SSFStream) error
	// GetSSFStream answers the stream or ErrNotFound.
	GetSSFStream(ctx context.Context, tenant TenantID, id string) (*SSFStream, error)
	// ListSSFStreams answers the tenant's streams in creation order, at
	// most limit of them.
	ListSSFStreams(ctx context.Context, tenant TenantID, limit int) ([]SSFStream, error)
	// UpdateSSFStream runs fn on the stream under a row lock and writes
	// the result with Version+1; fn's error is returned unchanged and
	// nothing is written. ErrNotFound when absent.
	UpdateSSFStream(ctx context.Context, tenant TenantID, id string, fn func(*SSFStream) error) (*SSFStream, error)
	// DeleteSSFStream removes the stream with its subjects and SETs;
	// ErrNotFound when absent.
	DeleteSSFStream(ctx context.Context, tenant TenantID, id string) error

	// AddSSFSubject records that the stream wants events about the
	// subject whose normalised key is key (subject is its JSON as the
	// receiver sent it). Adding it again changes nothing. ErrNotFound
	// when the stream does not exist.
	AddSSFSubject(ctx context.Context, tenant TenantID, streamID, key string, subject []byte, at time.Time) error
	// RemoveSSFSubject forgets the subject; absent is no error.
	RemoveSSFSubject(ctx context.Context, tenant TenantID, streamID, key string) error
	// CountSSFSubjects answers how many subjects the stream has.
	CountSSFSubjects(ctx context.Context, tenant TenantID, streamID string) (int, error)
	// MatchSSFSubjects answers, per stream of the tenant that has added
	// any of keys, the first of keys (in the order given) it added.
	MatchSSFSubjects(ctx context.Context, tenant TenantID, keys []string) (map[string]string, error)

	// PutSSFSet queues set unless the stream already holds a SET for
	// set.EventID; it answers the stored one (the new set, or the one
	// queued before). ErrNotFound when the stream does not exist.
	PutSSFSet(ctx context.Context, set *SSFSet) (*SSFSet, error)
	// PendingSSFSets answers the stream's pending SETs, oldest first, at
	// most limit.
	PendingSSFSets(ctx context.Context, tenant TenantID, streamID string, limit int) ([]SSFSet, error)
	// FinishSSFSets moves the stream's pending SETs named by jtis to
	// state (SETDelivered or SETFailed) at at, clearing their tokens, and
	// records errText; it answers how many it moved (unknown or finished
	// jtis are skipped).
	FinishSSFSets(ctx context.Context, tenant TenantID, streamID string, jtis []string, state, errText string, at time.Time) (int, error)
	// FailedSSFAttempt counts a failed push of a pending SET and records
	// errText.
	FailedSSFAttempt(ctx context.Context, tenant TenantID, streamID, jti, errText string) error
	// PurgeSSFSets deletes finished SETs created before before, and
	// pending ones created before pendingBefore; it answers how many.
	PurgeSSFSets(ctx context.Context, before, pendingBefore time.Time) (int64, error)
}
