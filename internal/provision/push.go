package provision

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// HTTP statuses of target answers that change what a push does (this
// package knows nothing of HTTP beyond the numbers in RemoteError).
const (
	statusBadRequest = 400
	statusNotFound   = 404
	statusConflict   = 409
)

const (
	kindUsers  = "Users"
	kindGroups = "Groups"
	uriUser    = "urn:ietf:params:scim:schemas:core:2.0:User"
	uriGroup   = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// pusher pushes to one target. Every push reads our current state and
// makes the target's copy match it, so a retried or repeated push changes
// nothing more; EventID names the event being delivered ("" in a sync).
type pusher struct {
	s       *Service
	t       *store.ProvisioningTarget
	r       Remote
	mapping map[string]string
	eventID string
	// failed counts the errors recorded by this pusher.
	failed int
}

// open answers a pusher of t, its token opened.
func (s *Service) open(t *store.ProvisioningTarget, eventID string) (*pusher, error) {
	tok, err := s.Sealer.Open(t.Token, TokenAAD(t.ID))
	if err != nil {
		return nil, err
	}
	return &pusher{s: s, t: t, r: s.Connector.Open(t.BaseURL, string(tok)), mapping: effective(t.Mapping), eventID: eventID}, nil
}

// fail records err in the target's error list and answers it. Only a
// target's own answers are described; our own failures are not (the
// server log has them).
func (p *pusher) fail(ctx context.Context, kind, id, op string, err error) error {
	p.failed++
	msg := "internal error (see the server log)"
	var re *RemoteError
	if errors.As(err, &re) {
		msg = re.Error()
	}
	e := &store.ProvisionError{ID: uuid.Must(uuid.NewV7()).String(), Tenant: p.t.Tenant, TargetID: p.t.ID, At: p.s.now(),
		EventID: p.eventID, Kind: kind, LocalID: id, Operation: op, StatusCode: statusOf(err), Message: msg}
	if rerr := p.s.Store.Provisioning().AppendError(context.WithoutCancel(ctx), e); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

func (p *pusher) link(ctx context.Context, kind, id string) (string, error) {
	l, err := p.s.Store.Provisioning().GetLink(ctx, p.t.Tenant, p.t.ID, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return l.RemoteID, nil
}

func (p *pusher) setLink(ctx context.Context, kind, id, remote string) error {
	return p.s.Store.Provisioning().PutLink(ctx, &store.ProvisionLink{Tenant: p.t.Tenant, TargetID: p.t.ID, Kind: kind,
		LocalID: id, RemoteID: remote})
}

// userInScope: every user when the target has no scope groups, else
// members (directly or through nesting) of one of them.
func (p *pusher) userInScope(ctx context.Context, u *store.User) (bool, error) {
	if len(p.t.Groups) == 0 {
		return true, nil
	}
	gs, err := p.s.Store.Groups().UserGroups(ctx, p.t.Tenant, u.ID, true)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if slices.Contains(p.t.Groups, g.ID) {
			return true, nil
		}
	}
	return false, nil
}

func (p *pusher) groupInScope(id string) bool {
	return len(p.t.Groups) == 0 || slices.Contains(p.t.Groups, id)
}

// find looks a resource up by attr eq value; a target that cannot filter
// by attr (400) has none.
func (p *pusher) find(ctx context.Context, kind, attr string, value any) (string, error) {
	v, ok := value.(string)
	if !ok || v == "" {
		return "", nil
	}
	id, err := p.r.Find(ctx, kind, attr, v)
	if statusOf(err) == statusBadRequest {
		return "", nil
	}
	return id, err
}

// pushUser makes the target's copy of the user match ours: created (or
// adopted) when in scope, replaced when linked, active:false when the
// user is disabled, deleted or out of scope. It answers the user's id on
// the target ("" when it has none).
func (p *pusher) pushUser(ctx context.Context, userID string) (string, error) {
	remote, err := p.link(ctx, store.ProvisionUser, userID)
	if err != nil {
		return "", err
	}
	u, err := p.s.Store.Users().GetUser(ctx, p.t.Tenant, userID)
	if errors.Is(err, store.ErrNotFound) {
		if remote == "" {
			return "", nil
		}
		err := p.r.Patch(ctx, kindUsers, remote, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
		if err != nil && statusOf(err) != statusNotFound {
			return "", p.fail(ctx, store.ProvisionUser, userID, "deactivate", err)
		}
		return remote, nil
	}
	if err != nil {
		return "", err
	}
	in, err := p.userInScope(ctx, u)
	if err != nil {
		return "", err
	}
	if !in && remote == "" {
		return "", nil
	}
	doc := userDoc(u, p.mapping, in && u.Status == store.UserActive)
	op := "update"
	if !in {
		op = "deactivate"
	}
	if remote != "" {
		err := p.r.Put(ctx, kindUsers, remote, doc)
		switch {
		case err == nil:
			return remote, nil
		case statusOf(err) != statusNotFound:
			return "", p.fail(ctx, store.ProvisionUser, userID, op, err)
		}
		// Gone from the target: forget the link, create it again.
		if err := p.s.Store.Provisioning().DeleteLink(ctx, p.t.Tenant, p.t.ID, store.ProvisionUser, userID); err != nil {
			return "", err
		}
		if !in {
			return "", nil
		}
	}
	return p.adoptOrCreate(ctx, kindUsers, store.ProvisionUser, userID, doc, "userName")
}

// adoptOrCreate links the resource the target already has (found by
// externalId, then by the natural key attr) and brings it up to date, or
// creates it.
func (p *pusher) adoptOrCreate(ctx context.Context, kind, linkKind, id string, doc map[string]any, attr string) (string, error) {
	remote, err := p.find(ctx, kind, "externalId", doc["externalId"])
	if err == nil && remote == "" {
		remote, err = p.find(ctx, kind, attr, doc[attr])
	}
	if err != nil {
		return "", p.fail(ctx, linkKind, id, "lookup", err)
	}
	op := "update"
	if remote != "" {
		err = p.update(ctx, kind, remote, doc)
	} else {
		op = "create"
		remote, err = p.r.Create(ctx, kind, doc)
		if statusOf(err) == statusConflict {
			// Created meanwhile, or there under a key our filter missed.
			if remote, err = p.find(ctx, kind, attr, doc[attr]); err == nil && remote != "" {
				err = p.update(ctx, kind, remote, doc)
			} else if err == nil {
				err = &RemoteError{Status: statusConflict, Detail: "the target reports a conflict but no " + attr + " match"}
			}
		}
	}
	if err != nil {
		return "", p.fail(ctx, linkKind, id, op, err)
	}
	return remote, p.setLink(ctx, linkKind, id, remote)
}

// update brings an existing resource up to date: a user is replaced, a
// group's name patched (a PUT would replace its members).
func (p *pusher) update(ctx context.Context, kind, remote string, doc map[string]any) error {
	if kind == kindUsers {
		return p.r.Put(ctx, kind, remote, doc)
	}
	return p.r.Patch(ctx, kind, remote, map[string]any{"op": "replace",
		"value": map[string]any{"displayName": doc["displayName"], "externalId": doc["externalId"]}})
}

// pushGroup makes the target's copy of an in-scope group match ours:
// created or adopted (by externalId, then displayName), renamed, or
// deleted when ours is. It answers the group's id on the target.
func (p *pusher) pushGroup(ctx context.Context, groupID string) (string, error) {
	remote, err := p.link(ctx, store.ProvisionGroup, groupID)
	if err != nil {
		return "", err
	}
	g, err := p.s.Store.Groups().GetGroup(ctx, p.t.Tenant, groupID)
	if errors.Is(err, store.ErrNotFound) {
		if remote == "" {
			return "", nil
		}
		if err := p.r.Delete(ctx, kindGroups, remote); err != nil && statusOf(err) != statusNotFound {
			return "", p.fail(ctx, store.ProvisionGroup, groupID, "delete", err)
		}
		return "", p.s.Store.Provisioning().DeleteLink(ctx, p.t.Tenant, p.t.ID, store.ProvisionGroup, groupID)
	}
	if err != nil || !p.groupInScope(groupID) {
		return "", err
	}
	doc := map[string]any{"schemas": []string{uriGroup}, "displayName": g.Name, "externalId": g.ID}
	if remote != "" {
		err := p.update(ctx, kindGroups, remote, doc)
		if err == nil {
			return remote, nil
		}
		if statusOf(err) != statusNotFound {
			return "", p.fail(ctx, store.ProvisionGroup, groupID, "update", err)
		}
		if err := p.s.Store.Provisioning().DeleteLink(ctx, p.t.Tenant, p.t.ID, store.ProvisionGroup, groupID); err != nil {
			return "", err
		}
	}
	doc["members"] = []any{}
	return p.adoptOrCreate(ctx, kindGroups, store.ProvisionGroup, groupID, doc, "displayName")
}

// pushMembership makes the user's direct membership of the group on the
// target what it is here (the user pushed first, which also (de)activates
// it when the change moved it in or out of scope).
func (p *pusher) pushMembership(ctx context.Context, groupID, userID string) error {
	uRemote, err := p.pushUser(ctx, userID)
	if err != nil || uRemote == "" || !p.groupInScope(groupID) {
		return err
	}
	gRemote, err := p.pushGroup(ctx, groupID)
	if err != nil || gRemote == "" {
		return err
	}
	member := false
	if gs, err := p.s.Store.Groups().UserGroups(ctx, p.t.Tenant, userID, false); err == nil {
		member = slices.ContainsFunc(gs, func(g store.Group) bool { return g.ID == groupID })
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	op := map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uRemote}}}
	name := "membership.add"
	if !member {
		op = map[string]any{"op": "remove", "path": "members[value eq " + Quote(uRemote) + "]"}
		name = "membership.remove"
	}
	if err := p.r.Patch(ctx, kindGroups, gRemote, op); err != nil {
		return p.fail(ctx, store.ProvisionUser, userID, name, err)
	}
	return nil
}

// Quote answers s as a SCIM filter's string literal (RFC 7644 3.4.2.2):
// in double quotes, with quotes and backslashes escaped.
func Quote(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
