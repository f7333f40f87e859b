package flow

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ConsentNeeded reports whether the user must approve the client's access
// before the request completes: only third-party clients ask, and then
// when the user has not yet granted every requested scope, or when the
// client sent prompt=consent and the grant predates this request.
func (s *Service) ConsentNeeded(ctx context.Context, tenant store.TenantID, ar *store.AuthRequest) (bool, error) {
	c, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, ar.ClientID)
	if err != nil {
		return false, err
	}
	if !c.ThirdParty {
		return false, nil
	}
	g, err := s.Store.OAuth().Consents().GetConsent(ctx, tenant, ar.UserID, ar.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if slices.Contains(ar.Prompt, "consent") && g.UpdatedAt.Before(ar.CreatedAt) {
		return true, nil
	}
	for _, sc := range ar.Scopes {
		if !slices.Contains(g.Scopes, sc) {
			return true, nil
		}
	}
	return false, nil
}

// LoadForConsent returns a request whose login is done but whose code is
// not yet issued, for the consent screen of the session's own user.
func (s *Service) LoadForConsent(ctx context.Context, tenant store.TenantID, id string, sess *store.Session) (*store.AuthRequest, error) {
	if len(id) > 64 || sess == nil {
		return nil, ErrRequestGone
	}
	ar, err := s.Store.OAuth().AuthRequests().GetAuthRequest(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!ar.Done || ar.CodeHash != nil || ar.SessionID != sess.ID)) {
		return nil, ErrRequestGone
	}
	return ar, err
}

// GrantConsent records that the user approved the request's scopes for its
// client (added to what was granted before).
func (s *Service) GrantConsent(ctx context.Context, tenant store.TenantID, ar *store.AuthRequest) error {
	now := s.Now().UTC()
	scopes := slices.Clone(ar.Scopes)
	created := now
	if g, err := s.Store.OAuth().Consents().GetConsent(ctx, tenant, ar.UserID, ar.ClientID); err == nil {
		created = g.CreatedAt
		for _, sc := range g.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	slices.Sort(scopes)
	return s.Store.OAuth().Consents().PutConsent(ctx, &store.Consent{Tenant: tenant, UserID: ar.UserID,
		ClientID: ar.ClientID, Scopes: scopes, CreatedAt: created, UpdatedAt: now})
}
