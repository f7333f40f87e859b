package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Outbox writes catalogue events in the transaction of the change they
// describe. As an Observer of the audit Recorder it turns audited actions
// into events; Emit writes events of changes that are not audited (a
// session beginning or ending). The Dispatcher delivers what it wrote.
type Outbox struct {
	Now func() time.Time
	// Kick, when set, is told that an event was written (wakes this
	// node's dispatcher before its next poll).
	Kick chan<- struct{}
}

var _ Observer = (*Outbox)(nil)

// Observe writes the events an audited change stands for, through repos
// (the change's transaction).
func (o *Outbox) Observe(ctx context.Context, repos store.Repos, _ Actor, e Entry) error {
	for _, d := range fromAudit(e) {
		if err := o.Emit(ctx, repos, d.tenant, d.typ, d.userID, d.data); err != nil {
			return err
		}
	}
	return nil
}

// Emit writes one event of a catalogue type through repos (pass the
// change's transaction). userID names the person it is about ("" for
// none): their events are delivered in the order they were written.
func (o *Outbox) Emit(ctx context.Context, repos store.Repos, tenant store.TenantID, typ, userID string, data any) error {
	if o == nil {
		return nil
	}
	if _, ok := Lookup(typ); !ok {
		return fmt.Errorf("events: %q is not in the catalogue", typ)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", typ, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if err := repos.Events().Outbox().AppendEvent(ctx, &store.OutboxEvent{ID: id.String(), Tenant: tenant, Type: typ,
		UserID: userID, Data: raw, CreatedAt: now().UTC().Truncate(time.Microsecond)}); err != nil {
		return err
	}
	if o.Kick != nil {
		select {
		case o.Kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// EraseUser removes the personal data of a user from every stored event
// about them, pending and delivered alike: what is left is the user's id
// (a random identifier) and "redacted": true. Pass the erasure's
// transaction as repos. Deliveries still pending go out with the redacted
// data.
func (o *Outbox) EraseUser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	raw, err := json.Marshal(map[string]any{"user_id": userID, "redacted": true})
	if err != nil {
		return err
	}
	_, err = repos.Events().Outbox().RedactUserEvents(ctx, tenant, userID, raw)
	return err
}
