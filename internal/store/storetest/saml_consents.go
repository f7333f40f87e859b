package storetest

import (
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testSAMLConsents: a grant per (user, provider), replaced in place, kept
// sorted, refused for a missing user or provider, invisible to another
// tenant, and gone with its provider.
func testSAMLConsents(t *testing.T, s store.Store) {
	f, other := mkFixture(t, s), mkFixture(t, s)
	sp := mkSP(t, s, f.tn, "https://sp-"+newID()+".example")
	sc := s.SAML().Consents()
	_, err := sc.GetSAMLConsent(ctx(t), f.tn, f.user.ID, sp.ID)
	wantErr(t, "GetSAMLConsent(none)", err, store.ErrNotFound)

	c := &store.SAMLConsent{Tenant: f.tn, UserID: f.user.ID, SPID: sp.ID, Attributes: []string{"mail", "cn"}}
	noErr(t, "PutSAMLConsent", sc.PutSAMLConsent(ctx(t), c))
	got, err := sc.GetSAMLConsent(ctx(t), f.tn, f.user.ID, sp.ID)
	noErr(t, "GetSAMLConsent", err)
	if !slices.Equal(got.Attributes, []string{"cn", "mail"}) || got.CreatedAt.IsZero() || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("GetSAMLConsent = %+v, put %+v", got, c)
	}
	noErr(t, "PutSAMLConsent(replace)", sc.PutSAMLConsent(ctx(t),
		&store.SAMLConsent{Tenant: f.tn, UserID: f.user.ID, SPID: sp.ID, Attributes: []string{"mail", "cn", "groups"}}))
	got2, err := sc.GetSAMLConsent(ctx(t), f.tn, f.user.ID, sp.ID)
	noErr(t, "GetSAMLConsent(replaced)", err)
	if !slices.Equal(got2.Attributes, []string{"cn", "groups", "mail"}) || !got2.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("replaced consent = %+v, first %+v", got2, got)
	}

	wantErr(t, "PutSAMLConsent(unknown sp)", sc.PutSAMLConsent(ctx(t),
		&store.SAMLConsent{Tenant: f.tn, UserID: f.user.ID, SPID: newID()}), store.ErrNotFound)
	wantErr(t, "PutSAMLConsent(user of another tenant)", sc.PutSAMLConsent(ctx(t),
		&store.SAMLConsent{Tenant: f.tn, UserID: other.user.ID, SPID: sp.ID}), store.ErrNotFound)
	_, err = sc.GetSAMLConsent(ctx(t), other.tn, f.user.ID, sp.ID)
	wantErr(t, "GetSAMLConsent(other tenant)", err, store.ErrNotFound)

	noErr(t, "DeleteSP", s.SAML().ServiceProviders().DeleteSP(ctx(t), f.tn, sp.ID))
	_, err = sc.GetSAMLConsent(ctx(t), f.tn, f.user.ID, sp.ID)
	wantErr(t, "GetSAMLConsent(after DeleteSP)", err, store.ErrNotFound)
}
