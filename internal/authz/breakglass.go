package authz

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// ActionBreakGlassUsed is the audit action of every use of a break-glass
// account: the alert a SIEM or webhook consumer watches for.
const ActionBreakGlassUsed = "authz.break_glass.used"

// AddBreakGlass marks the user as a break-glass account. Errors:
// store.ErrNotFound (no such user), *valid.Conflict (marked already).
func (s *Service) AddBreakGlass(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, note string) (*store.BreakGlassAccount, error) {
	var c valid.Collector
	if !idRE.MatchString(userID) {
		c.Add("user_id", "invalid", "user_id is a user id.")
	}
	checkText(&c, "note", note, maxReason)
	if err := c.Err(); err != nil {
		return nil, err
	}
	b := &store.BreakGlassAccount{Tenant: tenant, UserID: userID, Note: note, CreatedAt: s.now()}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Authz().BreakGlass().AddBreakGlass(ctx, b); err != nil {
			if isConflict(err) {
				return &valid.Conflict{Field: "user_id", Cause: err}
			}
			return err
		}
		return s.record(ctx, tx, actor, tenant, "authz.break_glass.add", "user", userID,
			events.Changes{"break_glass": {Before: false, After: true}, "note": {After: note}})
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// RemoveBreakGlass clears the mark; store.ErrNotFound when there is none.
func (s *Service) RemoveBreakGlass(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Authz().BreakGlass().RemoveBreakGlass(ctx, tenant, userID); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "authz.break_glass.remove", "user", userID,
			events.Changes{"break_glass": {Before: true, After: false}})
	})
}

// ListBreakGlass lists the tenant's break-glass accounts.
func (s *Service) ListBreakGlass(ctx context.Context, tenant store.TenantID) ([]store.BreakGlassAccount, error) {
	return s.Store.Authz().BreakGlass().ListBreakGlass(ctx, tenant)
}

// NoteUse raises the alert when userID is a break-glass account: an audit
// entry (ActionBreakGlassUsed) and a warning log line. how says what the
// account did ("login", "token"), client which client it was for. It is
// called after the use succeeded; a failure to record is logged and
// returned, never hidden.
func (s *Service) NoteUse(ctx context.Context, tenant store.TenantID, userID, how, client string) error {
	yes, err := s.Store.Authz().BreakGlass().IsBreakGlass(ctx, tenant, userID)
	if err != nil || !yes {
		return err
	}
	s.log().WarnContext(ctx, "ALERT: break-glass account used", "tenant", tenant, "user_id", userID, "via", how, "client_id", client)
	ch := events.Changes{"via": {After: how}}
	if client != "" {
		ch["client_id"] = events.Change{After: client}
	}
	err = s.record(ctx, s.Store, events.Actor{Type: "user", ID: userID}, tenant, ActionBreakGlassUsed, "user", userID, ch)
	if err != nil {
		s.log().ErrorContext(ctx, "authz: could not record a break-glass use", "tenant", tenant, "user_id", userID, "err", err)
	}
	return err
}
