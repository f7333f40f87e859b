package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Custom domains (internal/domain).

type domainOut struct {
	Host         string               `json:"host"`
	Status       string               `json:"status"`
	Verification *domain.Verification `json:"verification,omitempty"`
	VerifiedAt   *time.Time           `json:"verified_at,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
	// CertificateNotAfter is the expiry of an uploaded certificate.
	CertificateNotAfter *time.Time `json:"certificate_not_after,omitempty"`
}

// domainJSON shows the proofs while the domain is pending.
func domainJSON(d *store.CustomDomain) domainOut {
	o := domainOut{Host: d.Host, Status: d.Status, CreatedAt: d.CreatedAt}
	if d.Status == store.DomainPending {
		v := domain.VerificationOf(d)
		o.Verification = &v
	}
	if !d.VerifiedAt.IsZero() {
		o.VerifiedAt = &d.VerifiedAt
	}
	if !d.CertNotAfter.IsZero() {
		o.CertificateNotAfter = &d.CertNotAfter
	}
	return o
}

func (a *API) listDomains(w http.ResponseWriter, r *http.Request, c *call) error {
	ds, err := a.Domains.List(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	items := make([]domainOut, len(ds))
	for i := range ds {
		items[i] = domainJSON(&ds[i])
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (a *API) createDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	var in struct {
		Host string `json:"host"`
	}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Domains.Create(r.Context(), c.actor, c.tenant.ID, in.Host)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tenants/"+c.tenant.Slug+"/domains/"+d.Host)
	httpx.WriteJSON(w, http.StatusCreated, domainJSON(d))
	return nil
}

func (a *API) getDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := a.Domains.Get(r.Context(), c.tenant.ID, r.PathValue("host"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, domainJSON(d))
	return nil
}

func (a *API) verifyDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := a.Domains.Verify(r.Context(), c.actor, c.tenant.ID, r.PathValue("host"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, domainJSON(d))
	return nil
}

func (a *API) deleteDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.Domains.Delete(r.Context(), c.actor, c.tenant.ID, r.PathValue("host")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) putDomainCertificate(w http.ResponseWriter, r *http.Request, c *call) error {
	var in struct {
		Certificate string `json:"certificate"`
		PrivateKey  string `json:"private_key"`
	}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Domains.PutCertificate(r.Context(), c.actor, c.tenant.ID, r.PathValue("host"), in.Certificate, in.PrivateKey)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, domainJSON(d))
	return nil
}
