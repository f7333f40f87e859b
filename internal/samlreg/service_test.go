package samlreg_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

var admin = events.Actor{Type: "cli", ID: "tester"}

func setup(t *testing.T) (*samlreg.Service, store.Store, store.TenantID) {
	db := sqltest.OpenSQLite(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme",
		Settings: json.RawMessage(`{}`), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := db.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	return &samlreg.Service{Store: db, Audit: &events.Recorder{Now: time.Now}, Now: time.Now}, db, tn.ID
}

func certB64(t *testing.T, rsaKey bool) string {
	var pub, priv any
	if rsaKey {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		pub, priv = &k.PublicKey, k
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, priv = &k.PublicKey, k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func metadata(cert string) string {
	return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.example/md">
<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + cert + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/slo-post"/>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example/slo"/>
<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example/art" index="0"/>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="1" isDefault="true"/>
</md:SPSSODescriptor></md:EntityDescriptor>`
}

func TestCreateFromMetadata(t *testing.T) {
	svc, db, tn := setup(t)
	cert := certB64(t, true)
	sp, err := svc.Create(t.Context(), admin, tn, samlreg.NewSP{Metadata: metadata(cert), Name: "Wiki",
		AttributeMapping: map[string]string{"mail": "email"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SAMLEndpoint{{Binding: samlreg.BindingPOST, Location: "https://sp.example/acs", Index: 1, Default: true}}
	if sp.EntityID != "https://sp.example/md" || !slices.Equal(sp.ACS, want) || sp.SLOURL != "https://sp.example/slo" ||
		sp.SLOBinding != samlreg.BindingRedirect || sp.NameIDFormat != samlreg.NameIDPersistent || !sp.RequestsSigned ||
		!sp.SignAssertion || !sp.SignResponse || !strings.Contains(sp.Certificate, "BEGIN CERTIFICATE") {
		t.Errorf("registration from metadata: %+v", sp)
	}
	// Audited, without the certificate's text.
	es, err := db.Audit().ListAudit(t.Context(), tn, store.AuditQuery{TargetID: sp.ID})
	if err != nil || len(es) != 1 || es[0].Action != "saml_sp.create" || strings.Contains(string(es[0].Changes), cert[:40]) {
		t.Errorf("audit: %+v, %v", es, err)
	}
	// Fields override the metadata; the entity ID is unique per tenant.
	_, err = svc.Create(t.Context(), admin, tn, samlreg.NewSP{Metadata: metadata(cert)})
	var conflict *valid.Conflict
	if !errors.As(err, &conflict) || conflict.Field != "entity_id" {
		t.Errorf("second registration: %v", err)
	}
	other, err := svc.Create(t.Context(), admin, tn, samlreg.NewSP{Metadata: metadata(cert), EntityID: "https://other.example"})
	if err != nil || other.EntityID != "https://other.example" {
		t.Errorf("override entity_id: %v, %v", other, err)
	}
	// Update, with a stale version refused, then delete.
	if _, err := svc.Update(t.Context(), admin, tn, sp.ID, 99, samlreg.Patch{}); !errors.Is(err, store.ErrPrecondition) {
		t.Errorf("stale update: %v", err)
	}
	f := "transient"
	up, err := svc.Update(t.Context(), admin, tn, sp.ID, sp.Version, samlreg.Patch{NameIDFormat: &f})
	if err != nil || up.NameIDFormat != samlreg.NameIDTransient {
		t.Errorf("update: %+v, %v", up, err)
	}
	if err := svc.Delete(t.Context(), admin, tn, sp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(t.Context(), tn, sp.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := svc.Get(t.Context(), tn, "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("malformed id: %v", err)
	}
}

func TestValidation(t *testing.T) {
	svc, db, tn := setup(t)
	acs := []store.SAMLEndpoint{{Location: "https://sp.example/acs"}}
	ec := certB64(t, false)
	for field, in := range map[string]samlreg.NewSP{
		"entity_id":         {ACS: acs},
		"acs":               {EntityID: "e", ACS: []store.SAMLEndpoint{{Location: "ftp://x/acs"}}},
		"slo_url":           {EntityID: "e", ACS: acs, SLOURL: "https://u:p@x/slo"},
		"name_id_format":    {EntityID: "e", ACS: acs, NameIDFormat: "urn:x"},
		"certificate":       {EntityID: "e", ACS: acs, EncryptAssertion: true, Certificate: ec}, // EC cannot take RSA-OAEP
		"attribute_mapping": {EntityID: "e", ACS: acs, AttributeMapping: map[string]string{"x": "password_hash"}},
		"sign_assertion":    {EntityID: "e", ACS: acs, SignAssertion: new(bool), SignResponse: new(bool)},
		"metadata":          {Metadata: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`},
	} {
		_, err := svc.Create(t.Context(), admin, tn, in)
		var verr *valid.Error
		if !errors.As(err, &verr) || !slices.ContainsFunc(verr.Fields, func(f valid.FieldError) bool { return f.Field == field }) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if list, _ := svc.List(t.Context(), tn, store.Page{}); len(list) != 0 {
		t.Errorf("refused registrations stored: %d", len(list))
	}
	if n, _ := db.Audit().ListAudit(t.Context(), tn, store.AuditQuery{}); len(n) != 0 {
		t.Errorf("refused registrations audited: %d", len(n))
	}
}
