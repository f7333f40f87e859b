package flow

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The consent step runs after the session (the user must be known): a
// third-party client asks the user to approve its access, a SAML service
// provider that requires consent asks to receive the user's attributes. While it waits
// the request holds the session but is not done; the consent page, for
// that session only (LoadForConsent), records the grant and calls
// Consented, which completes the request.

// ErrConsentRequired: the consent step waits for the user; the pages show
// the consent screen (or, for prompt=none, deny consent_required).
var ErrConsentRequired = errors.New("flow: the user has not granted this client access")

type consent struct{ s *Service }

func (consent) Name() string { return "consent" }

// Needed: only third-party clients ask, and then when the user has not yet
// granted every requested scope, or when the client sent prompt=consent
// and the grant predates this request. The device page is its own consent
// screen (the user approves the device there).
// A SAML service provider asks when it requires consent and would receive
// an attribute the user has not approved for it.
func (c consent) Needed(ctx context.Context, st *State) (bool, error) {
	r := st.Request
	switch {
	case r == nil || r.Origin == OriginDevice || r.Origin == OriginCIBA:
		return false, nil
	case r.Origin == OriginSAML && r.SPID != "":
		return c.s.samlConsentNeeded(ctx, st.Tenant, r, st.User.ID)
	case r.ClientID == "":
		return false, nil
	case r.Origin == OriginOIDC:
		// RFC 9396: authorization details are approved request by request.
		if d, err := c.s.Store.OAuth().AuthorizationDetails().GetDetails(ctx, st.Tenant, r.Return); err == nil && !d.Approved {
			return true, nil
		}
	}
	return c.s.consentNeeded(ctx, st.Tenant, r, st.User.ID)
}

func (consent) Handle(context.Context, *State) error { return ErrConsentRequired }

func (s *Service) consentNeeded(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, userID string) (bool, error) {
	c, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, r.ClientID)
	if err != nil {
		return false, err
	}
	if !c.ThirdParty {
		return false, nil
	}
	g, err := s.Store.OAuth().Consents().GetConsent(ctx, tenant, userID, r.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if slices.Contains(r.Prompt, "consent") && g.UpdatedAt.Before(r.CreatedAt) {
		return true, nil
	}
	return !covers(g.Scopes, r.Scopes), nil
}

func (s *Service) samlConsentNeeded(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, userID string) (bool, error) {
	sp, err := s.Store.SAML().ServiceProviders().GetSP(ctx, tenant, r.SPID)
	if err != nil || !sp.ConsentRequired {
		return false, err
	}
	g, err := s.Store.SAML().Consents().GetSAMLConsent(ctx, tenant, userID, sp.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !covers(g.Attributes, samlreg.Released(sp)), nil
}

// ConsentAsks is what the consent screen lists for r: the requested
// scopes of a client, or the attributes a SAML service provider receives;
// and who asks (the client's or provider's name, else its id).
func (s *Service) ConsentAsks(ctx context.Context, tenant store.TenantID, r *store.LoginRequest) (name string, scopes, attributes []string, err error) {
	if r.Origin == OriginSAML {
		sp, err := s.Store.SAML().ServiceProviders().GetSP(ctx, tenant, r.SPID)
		if err != nil {
			return "", nil, nil, err
		}
		return cmp.Or(sp.Name, sp.EntityID), nil, samlreg.Released(sp), nil
	}
	name = r.ClientID
	if c, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, r.ClientID); err == nil && c.Name != "" {
		name = c.Name
	}
	return name, r.Scopes, nil, nil
}

// LoadForConsent returns a request waiting at the consent step for the
// session's own user.
func (s *Service) LoadForConsent(ctx context.Context, tenant store.TenantID, id string, sess *store.Session) (*store.LoginRequest, error) {
	if sess == nil {
		return nil, ErrRequestGone
	}
	r, err := s.Load(ctx, tenant, id)
	if err == nil && r.SessionID != sess.ID {
		return nil, ErrRequestGone
	}
	return r, err
}

// GrantConsent records that the user approved the request's scopes for its
// client (added to what was granted before) and completes the request.
func (s *Service) GrantConsent(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, sess *store.Session) error {
	if r.Origin == OriginSAML {
		if err := s.grantSAMLConsent(ctx, tenant, r); err != nil {
			return err
		}
		return s.Complete(ctx, tenant, r.ID, sess)
	}
	now := s.Now().UTC()
	scopes := slices.Clone(r.Scopes)
	created := now
	if g, err := s.Store.OAuth().Consents().GetConsent(ctx, tenant, r.UserID, r.ClientID); err == nil {
		created = g.CreatedAt
		scopes = union(scopes, g.Scopes)
	}
	slices.Sort(scopes)
	if err := s.Store.OAuth().Consents().PutConsent(ctx, &store.Consent{Tenant: tenant, UserID: r.UserID,
		ClientID: r.ClientID, Scopes: scopes, CreatedAt: created, UpdatedAt: now}); err != nil {
		return err
	}
	if r.Origin == OriginOIDC { // the request's authorization details, if any (RFC 9396)
		if err := s.Store.OAuth().AuthorizationDetails().ApproveDetails(ctx, tenant, r.Return); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return s.Complete(ctx, tenant, r.ID, sess)
}

// grantSAMLConsent records that the user approved releasing the provider's
// attributes (added to what was approved before).
func (s *Service) grantSAMLConsent(ctx context.Context, tenant store.TenantID, r *store.LoginRequest) error {
	sp, err := s.Store.SAML().ServiceProviders().GetSP(ctx, tenant, r.SPID)
	if err != nil {
		return err
	}
	attrs := samlreg.Released(sp)
	g := &store.SAMLConsent{Tenant: tenant, UserID: r.UserID, SPID: sp.ID}
	if old, err := s.Store.SAML().Consents().GetSAMLConsent(ctx, tenant, r.UserID, sp.ID); err == nil {
		g.CreatedAt = old.CreatedAt
		attrs = union(attrs, old.Attributes)
	}
	g.Attributes = attrs
	return s.Store.SAML().Consents().PutSAMLConsent(ctx, g)
}

// covers reports whether granted holds every one of wanted.
func covers(granted, wanted []string) bool {
	for _, w := range wanted {
		if !slices.Contains(granted, w) {
			return false
		}
	}
	return true
}

// union is a with the elements of b it lacks appended.
func union(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}
