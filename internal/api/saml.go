package api

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// samlSPOut is a SAML service provider registration as the API shows it.
type samlSPOut struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	EntityID            string               `json:"entity_id"`
	ACS                 []store.SAMLEndpoint `json:"acs"`
	SLOURL              string               `json:"slo_url"`
	SLOBinding          string               `json:"slo_binding"`
	Certificate         string               `json:"certificate"`
	CertificateSHA256   string               `json:"certificate_sha256"`
	NameIDFormat        string               `json:"name_id_format"`
	AttributeMapping    map[string]string    `json:"attribute_mapping"`
	SignAssertion       bool                 `json:"sign_assertion"`
	SignResponse        bool                 `json:"sign_response"`
	EncryptAssertion    bool                 `json:"encrypt_assertion"`
	AuthnRequestsSigned bool                 `json:"authn_requests_signed"`
	// DefaultRelayState is the RelayState of IdP-initiated logins.
	DefaultRelayState string `json:"default_relay_state"`
	// ConsentRequired: users approve the released attributes first.
	ConsentRequired bool `json:"consent_required"`
	// LaunchURL starts an IdP-initiated login (the app launcher's link).
	LaunchURL string    `json:"launch_url"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) samlSPJSON(slug string) func(sp *store.SAMLServiceProvider) samlSPOut {
	return func(sp *store.SAMLServiceProvider) samlSPOut {
		acs := slices.Clone(sp.ACS)
		if acs == nil {
			acs = []store.SAMLEndpoint{}
		}
		m := maps.Clone(sp.AttributeMapping)
		if m == nil {
			m = map[string]string{}
		}
		return samlSPOut{
			ID: sp.ID, Name: sp.Name, EntityID: sp.EntityID, ACS: acs, SLOURL: sp.SLOURL, SLOBinding: sp.SLOBinding,
			Certificate: sp.Certificate, CertificateSHA256: samlreg.CertFingerprint(sp.Certificate),
			NameIDFormat: sp.NameIDFormat, AttributeMapping: m, SignAssertion: sp.SignAssertion,
			SignResponse: sp.SignResponse, EncryptAssertion: sp.EncryptAssertion, AuthnRequestsSigned: sp.RequestsSigned,
			DefaultRelayState: sp.DefaultRelayState, ConsentRequired: sp.ConsentRequired, LaunchURL: samlreg.LaunchPath(slug, sp.ID), Version: sp.Version, CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt,
		}
	}
}

func samlSPID(sp *store.SAMLServiceProvider) string { return sp.ID }

func samlSPVersion(sp *store.SAMLServiceProvider) int64 { return sp.Version }

func (a *API) listSAMLSPs(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	sps, err := a.SAMLSPs.List(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, sps, samlSPID, a.samlSPJSON(c.tenant.Slug)))
	return nil
}

func (a *API) createSAMLSP(w http.ResponseWriter, r *http.Request, c *call) error {
	var in samlreg.NewSP
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Tenants.CheckQuota(r.Context(), c.tenant.ID, store.OwnedSAMLSPs); err != nil {
		return err
	}
	sp, err := a.SAMLSPs.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/saml/sps/"+sp.ID, sp.Version, a.samlSPJSON(c.tenant.Slug)(sp))
	return nil
}

func (a *API) getSAMLSP(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.SAMLSPs.Get, samlSPVersion, a.samlSPJSON(c.tenant.Slug))
}

func (a *API) updateSAMLSP(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.SAMLSPs.Update, samlSPVersion, a.samlSPJSON(c.tenant.Slug))
}

func (a *API) deleteSAMLSP(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.SAMLSPs.Delete)
}
