package connection

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// LinkedIdentity is a user's identity as pages and the API show it.
type LinkedIdentity struct {
	ID           string    `json:"id"`
	Connection   string    `json:"connection"`
	ConnectionID string    `json:"connection_id"`
	DisplayName  string    `json:"display_name"`
	Type         string    `json:"type"`
	Subject      string    `json:"subject"`
	Email        string    `json:"email"`
	HasTokens    bool      `json:"has_tokens"`
	CreatedAt    time.Time `json:"created_at"`
	LastLoginAt  time.Time `json:"last_login_at"`
}

// Identities answers the user's linked identities with their connections'
// names. store.ErrNotFound when the user is not the tenant's.
func (s *Service) Identities(ctx context.Context, tenant store.TenantID, userID string) ([]LinkedIdentity, error) {
	if err := validID(userID); err != nil {
		return nil, err
	}
	if _, err := s.Store.Users().GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	ids, err := s.Store.Connections().Identities().ListUserIdentities(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := make([]LinkedIdentity, 0, len(ids))
	for _, i := range ids {
		li := LinkedIdentity{ID: i.ID, ConnectionID: i.ConnectionID, Subject: i.Subject, Email: i.Email,
			HasTokens: len(i.SealedTokens) > 0, CreatedAt: i.CreatedAt, LastLoginAt: i.LastLoginAt}
		if c, err := s.Store.Connections().Connections().GetConnection(ctx, tenant, i.ConnectionID); err == nil {
			li.Connection, li.DisplayName, li.Type = c.Name, c.DisplayName, c.Type
		}
		out = append(out, li)
	}
	return out, nil
}

// Unlink removes the user's identity id, unless it is their last way to
// sign in (no password, no other identity): ErrLastMethod. Errors also
// store.ErrNotFound.
func (s *Service) Unlink(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, id string) error {
	if validID(userID) != nil || validID(id) != nil {
		return store.ErrNotFound
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		u, err := tx.Users().GetUser(ctx, tenant, userID)
		if err != nil {
			return err
		}
		ids, err := tx.Connections().Identities().ListUserIdentities(ctx, tenant, userID)
		if err != nil {
			return err
		}
		var found *store.Identity
		for i := range ids {
			if ids[i].ID == id {
				found = &ids[i]
			}
		}
		if found == nil {
			return store.ErrNotFound
		}
		if u.PasswordHash == "" && len(ids) == 1 {
			return ErrLastMethod
		}
		if err := tx.Connections().Identities().DeleteIdentity(ctx, tenant, userID, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "identity.unlink",
			TargetType: "user", TargetID: userID, Changes: events.Changes{"identity": {
				Before: map[string]any{"id": id, "connection_id": found.ConnectionID, "subject": found.Subject}, After: nil}}})
	})
}
