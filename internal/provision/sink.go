package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SinkName is the outbox sink of provisioning.
const SinkName = "provisioning"

// Sink pushes the outbox's user and group events to the tenant's enabled
// targets. The outbox delivers each event at least once and in order per
// user; a push that fails on any target fails the delivery, so the outbox
// retries it (pushes are idempotent: targets that took it before see
// their copy brought up to date again).
type Sink struct{ s *Service }

var _ events.Sink = Sink{}

// Sink answers the service's outbox sink.
func (s *Service) Sink() events.Sink { return Sink{s} }

// Name implements events.Sink.
func (Sink) Name() string { return SinkName }

// Deliver implements events.Sink. Its error names no person or target
// answer: those are in each target's error list.
func (k Sink) Deliver(ctx context.Context, ev events.Event) error {
	if !relevant(ev.Type) {
		return nil
	}
	var data struct {
		GroupID    string `json:"group_id"`
		MemberType string `json:"member_type"`
		MemberID   string `json:"member_id"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		return fmt.Errorf("provision: event %s: %w", ev.ID, err)
	}
	targets, err := k.s.enabledTargets(ctx, store.TenantID(ev.Tenant))
	if err != nil {
		return err
	}
	failed := 0
	for i := range targets {
		p, err := k.s.open(&targets[i], ev.ID)
		if err == nil {
			err = p.apply(ctx, ev.Type, ev.UserID, data.GroupID, data.MemberType, data.MemberID)
		}
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("provision: %s failed on %d of %d targets (see their error lists)", ev.Type, failed, len(targets))
	}
	return nil
}

// relevant are the event types a target hears about.
func relevant(typ string) bool {
	return strings.HasPrefix(typ, "group.") || typ == "user.created" || typ == "user.updated" ||
		typ == "user.disabled" || typ == "user.deleted" || typ == "user.erased"
}

func (p *pusher) apply(ctx context.Context, typ, userID, groupID, memberType, memberID string) error {
	switch {
	case strings.HasPrefix(typ, "group.member."):
		if memberType != string(store.MemberUser) || memberID == "" || groupID == "" {
			return nil // nested groups are not pushed
		}
		return p.pushMembership(ctx, groupID, memberID)
	case strings.HasPrefix(typ, "group."):
		if groupID == "" {
			return nil
		}
		_, err := p.pushGroup(ctx, groupID)
		return err
	case userID != "":
		_, err := p.pushUser(ctx, userID)
		return err
	}
	return nil
}

func (s *Service) enabledTargets(ctx context.Context, tenant store.TenantID) ([]store.ProvisioningTarget, error) {
	all, err := s.Store.Provisioning().ListTargets(ctx, tenant, store.Page{Limit: MaxTargets})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		if t.Enabled {
			out = append(out, t)
		}
	}
	return out, nil
}
