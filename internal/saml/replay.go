package saml

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Replay windows of a remembered message ID: at least a minute, at most
// a day (crewjam asks until the last moment a message is accepted).
const (
	minReplayWindow = time.Minute
	maxReplayWindow = 24 * time.Hour
)

// dbReplay is crewjam's ReplayCache in the database: the ID of each
// LogoutRequest (and signed AuthnRequest) crewjam accepts is remembered
// for the tenant until it would expire, decided by one conditional write,
// so a message replayed at any node is refused. The key is hashed: IDs
// and entity IDs are chosen by the sender.
type dbReplay struct {
	ctx    context.Context
	store  store.Store
	tenant store.TenantID
	now    func() time.Time
}

var _ crewjam.AssertionReplayCache = (*dbReplay)(nil)

// Consume refuses (ErrAssertionReplayed) an ID seen before; an error of
// the database refuses too, so a message is never accepted unrecorded.
func (d *dbReplay) Consume(id string, expires time.Time) error {
	now := d.now()
	window := min(max(expires.Sub(now), minReplayWindow), maxReplayWindow)
	sum := sha256.Sum256([]byte(id))
	n, err := d.store.OAuth().Throttle().Fail(context.WithoutCancel(d.ctx), d.tenant,
		"saml-replay:"+base64.RawURLEncoding.EncodeToString(sum[:]), now, window)
	if err != nil {
		return err
	}
	if n > 1 {
		return crewjam.ErrAssertionReplayed
	}
	return nil
}
