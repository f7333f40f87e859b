package provision

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Sync states of a target.
const (
	SyncRunning = "running"
	SyncDone    = "done"
	// SyncPartial: the sync ran through, but some objects failed (the
	// target's error list names them).
	SyncPartial = "partial"
	SyncFailed  = "failed"
)

// ErrSyncRunning: a full sync of the target runs already.
var ErrSyncRunning = errors.New("provision: a full sync of this target is running")

// Sync starts a full sync of a target in the background
// (provisioning_target.sync): every in-scope user and group is pushed in
// batches, objects the target already has are adopted or updated, never
// duplicated. Its progress is the target's sync state. ErrSyncRunning
// when one is running (one that started more than six hours ago counts as
// dead), a *valid.Error when the target is disabled.
func (s *Service) Sync(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, log *slog.Logger) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("provision: service closed")
	}
	var t *store.ProvisioningTarget
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		now := s.now()
		t, err = tx.Provisioning().UpdateTarget(ctx, tenant, id, func(t *store.ProvisioningTarget) error {
			switch {
			case !t.Enabled:
				return valid.Field("enabled", "invalid", "The target is disabled: enable it before a sync.")
			case t.SyncState == SyncRunning && t.SyncedAt != nil && now.Sub(*t.SyncedAt) < syncDeadline:
				return ErrSyncRunning
			}
			t.SyncState, t.SyncedAt, t.SyncCount = SyncRunning, &now, 0
			return nil
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "provisioning_target.sync", id, nil)
	})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncDeadline)
	s.mu.Lock()
	if s.cancels == nil {
		s.cancels = map[string]context.CancelFunc{}
	}
	s.cancels[id] = cancel
	s.syncs.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.syncs.Done()
		defer s.cancelSync(id)
		n, failed, err := s.fullSync(sctx, t)
		state := SyncDone
		switch {
		case err != nil:
			state = SyncFailed
			if log != nil {
				log.ErrorContext(sctx, "provision: full sync failed", "tenant", string(tenant), "target_id", id, "err", err)
			}
		case failed > 0:
			state = SyncPartial
		}
		_, err = s.Store.Provisioning().UpdateTarget(context.WithoutCancel(sctx), tenant, id, func(t *store.ProvisioningTarget) error {
			now := s.now()
			t.SyncState, t.SyncedAt, t.SyncCount = state, &now, n
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) && log != nil {
			log.ErrorContext(sctx, "provision: record sync state", "target_id", id, "err", err)
		}
	}()
	return nil
}

func (s *Service) cancelSync(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cancels[id]; c != nil {
		c()
		delete(s.cancels, id)
	}
}

// Close stops running syncs and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	for id, c := range s.cancels {
		c()
		delete(s.cancels, id)
	}
	s.mu.Unlock()
	s.syncs.Wait()
}

// fullSync pushes every user (in scope, or linked and now out of it),
// then every group in scope with its direct user members, syncBatch at a
// time. It answers how many objects are on the target and how many
// failed; its error is ours (storage, cancellation), not a target's.
func (s *Service) fullSync(ctx context.Context, t *store.ProvisioningTarget) (n int64, failed int, err error) {
	p, err := s.open(t, "")
	if err != nil {
		return 0, 0, err
	}
	var rerr *RemoteError
	pushed := func(remote string, err error) error {
		switch {
		case errors.As(err, &rerr):
			return nil // recorded in the error list; carry on
		case err != nil:
			return err
		case remote != "":
			n++
		}
		return nil
	}
	for page := (store.Page{Limit: syncBatch}); ; {
		users, err := s.Store.Users().SearchUsers(ctx, t.Tenant, store.UserQuery{Page: page})
		if err != nil {
			return n, p.failed, err
		}
		for _, u := range users {
			if err := pushed(p.pushUser(ctx, u.ID)); err != nil {
				return n, p.failed, err
			}
		}
		if len(users) < syncBatch {
			break
		}
		page.After = users[len(users)-1].ID
	}
	for page := (store.Page{Limit: syncBatch}); ; {
		groups, err := s.Store.Groups().ListGroups(ctx, t.Tenant, page)
		if err != nil {
			return n, p.failed, err
		}
		for _, g := range groups {
			if !p.groupInScope(g.ID) {
				continue
			}
			remote, err := p.pushGroup(ctx, g.ID)
			if err := pushed(remote, err); err != nil {
				return n, p.failed, err
			}
			if remote != "" {
				if err := p.syncMembers(ctx, g.ID, remote); err != nil && !errors.As(err, &rerr) {
					return n, p.failed, err
				}
			}
		}
		if len(groups) < syncBatch {
			break
		}
		page.After = groups[len(groups)-1].ID
	}
	return n, p.failed, ctx.Err()
}

// syncMembers adds the group's direct user members that are on the
// target, one PATCH per batch (adding a member twice changes nothing).
func (p *pusher) syncMembers(ctx context.Context, groupID, remote string) error {
	for page := (store.Page{Limit: syncBatch}); ; {
		ms, err := p.s.Store.Groups().ListMembers(ctx, p.t.Tenant, groupID, page)
		if err != nil {
			return err
		}
		var vals []any
		for _, m := range ms {
			if m.Type != store.MemberUser {
				continue
			}
			u, err := p.link(ctx, store.ProvisionUser, m.ID)
			if err != nil {
				return err
			}
			if u != "" {
				vals = append(vals, map[string]any{"value": u})
			}
		}
		if len(vals) > 0 {
			if err := p.r.Patch(ctx, kindGroups, remote, map[string]any{"op": "add", "path": "members", "value": vals}); err != nil {
				return p.fail(ctx, store.ProvisionGroup, groupID, "membership.add", err)
			}
		}
		if len(ms) < syncBatch {
			return nil
		}
		page.After = ms[len(ms)-1].ID
	}
}
