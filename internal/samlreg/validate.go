package samlreg

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Bindings and NameID formats, as SAML names them.
const (
	BindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	// BindingSOAP is for single logout only: the IdP sends LogoutRequests
	// server to server (back-channel).
	BindingSOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"

	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// NameIDFormats are the formats an assertion can carry.
var NameIDFormats = []string{NameIDEmail, NameIDPersistent, NameIDTransient, NameIDUnspecified}

// shortFormats lets callers write the last part of a format.
var shortFormats = map[string]string{
	"emailAddress": NameIDEmail, "email": NameIDEmail, "persistent": NameIDPersistent,
	"transient": NameIDTransient, "unspecified": NameIDUnspecified,
}

// AttributeSources are the profile fields an attribute can be mapped
// from; "attr:KEY" reads the user's attribute KEY. "roles" comes from
// internal/authz through a hook the identity provider calls.
var AttributeSources = []string{"user_id", "email", "email_verified", "username", "name", "given_name",
	"family_name", "phone", "locale", "groups", "roles"}

// DefaultAttributeMapping is used when a provider has none.
var DefaultAttributeMapping = map[string]string{
	"email": "email", "given_name": "given_name", "family_name": "family_name", "name": "name", "groups": "groups",
}

// Mapping is the attribute mapping assertions to sp use: its own, or the
// default when it has none.
func Mapping(sp *store.SAMLServiceProvider) map[string]string {
	if len(sp.AttributeMapping) == 0 {
		return DefaultAttributeMapping
	}
	return sp.AttributeMapping
}

// Released are the names of the attributes sp may receive, sorted: what
// a user approves when the provider requires consent.
func Released(sp *store.SAMLServiceProvider) []string {
	return slices.Sorted(maps.Keys(Mapping(sp)))
}

// Bounds on what a registration may hold.
const (
	maxURL        = 2048
	maxName       = 200
	maxACS        = 20
	maxMappings   = 50
	maxCertBytes  = 16 << 10
	maxAttrName   = 256
	maxEntityID   = 1024
	maxMetadataSz = 256 << 10
)

// Normalise fills in what Create and Update fill in (bindings, ACS
// indexes, the full NameID format, a canonical PEM), so a registration
// can be compared with a stored one.
func Normalise(sp *store.SAMLServiceProvider) { normalise(sp) }

func normalise(sp *store.SAMLServiceProvider) {
	sp.Name = strings.TrimSpace(sp.Name)
	sp.EntityID = strings.TrimSpace(sp.EntityID)
	if f, ok := shortFormats[sp.NameIDFormat]; ok {
		sp.NameIDFormat = f
	}
	if sp.NameIDFormat == "" {
		sp.NameIDFormat = NameIDEmail
	}
	if sp.SLOURL != "" && sp.SLOBinding == "" {
		sp.SLOBinding = BindingRedirect
	}
	if sp.SLOURL == "" {
		sp.SLOBinding = ""
	}
	if cert, err := ParseCertificate(sp.Certificate); err == nil && cert != nil {
		sp.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	}
	for i := range sp.ACS {
		if sp.ACS[i].Binding == "" {
			sp.ACS[i].Binding = BindingPOST
		}
		if sp.ACS[i].Index == 0 {
			sp.ACS[i].Index = i + 1
		}
	}
}

func check(c *valid.Collector, sp *store.SAMLServiceProvider) {
	if len(sp.Name) > maxName {
		c.Add("name", "too_long", "At most 200 characters.")
	}
	switch {
	case sp.EntityID == "":
		c.Add("entity_id", "required", "The service provider's entity ID is required.")
	case len(sp.EntityID) > maxEntityID:
		c.Add("entity_id", "too_long", "At most 1024 characters.")
	}
	if len(sp.ACS) == 0 {
		c.Add("acs", "required", "At least one assertion consumer service URL is required.")
	}
	if len(sp.ACS) > maxACS {
		c.Add("acs", "too_many", "At most 20 assertion consumer services.")
	}
	seen := map[int]bool{}
	for _, e := range sp.ACS {
		if !validURL(e.Location) {
			c.Add("acs", "invalid_url", "Each assertion consumer service needs an absolute http(s) URL without a fragment.")
			break
		}
		if e.Binding != BindingPOST {
			c.Add("acs", "unsupported_binding", "Assertion consumer services must use the HTTP-POST binding.")
			break
		}
		if seen[e.Index] {
			c.Add("acs", "duplicate_index", "Assertion consumer service indexes must differ.")
			break
		}
		seen[e.Index] = true
	}
	if sp.SLOURL != "" && !validURL(sp.SLOURL) {
		c.Add("slo_url", "invalid_url", "An absolute http(s) URL without a fragment.")
	}
	if sp.DefaultRelayState != "" && !validRelayState(sp.DefaultRelayState) {
		c.Add("default_relay_state", "invalid", "An absolute https URL or a relative path, at most 1024 characters, without a fragment.")
	}
	if sp.SLOBinding != "" && sp.SLOBinding != BindingRedirect && sp.SLOBinding != BindingPOST && sp.SLOBinding != BindingSOAP {
		c.Add("slo_binding", "unsupported_binding", "HTTP-Redirect, HTTP-POST or SOAP (back-channel).")
	}
	cert, err := ParseCertificate(sp.Certificate)
	if err != nil {
		c.Add("certificate", "invalid", "Not an X.509 certificate (PEM or base64 DER).")
	}
	if cert == nil && sp.RequestsSigned {
		c.Add("certificate", "required", "A provider that signs its requests needs a certificate.")
	}
	if sp.EncryptAssertion {
		if _, ok := certRSA(cert); !ok {
			c.Add("certificate", "required", "Encrypting assertions needs the provider's RSA certificate.")
		}
	}
	if !slices.Contains(NameIDFormats, sp.NameIDFormat) {
		c.Add("name_id_format", "unsupported", "emailAddress, persistent, transient or unspecified.")
	}
	if !sp.SignAssertion && !sp.SignResponse {
		c.Add("sign_assertion", "required", "Sign the assertion, the response, or both.")
	}
	if len(sp.AttributeMapping) > maxMappings {
		c.Add("attribute_mapping", "too_many", "At most 50 attributes.")
	}
	for name, src := range sp.AttributeMapping {
		if name == "" || len(name) > maxAttrName || strings.ContainsAny(name, "<>&\"'\x00") {
			c.Add("attribute_mapping", "invalid_name", "Attribute names are 1-256 characters without markup.")
			break
		}
		if !validSource(src) {
			c.Add("attribute_mapping", "invalid_source", "A source is one of "+strings.Join(AttributeSources, ", ")+" or attr:KEY.")
			break
		}
	}
}

func validSource(src string) bool {
	if k, ok := strings.CutPrefix(src, "attr:"); ok {
		return k != "" && len(k) <= 128
	}
	return slices.Contains(AttributeSources, src)
}

func validURL(s string) bool {
	if s == "" || len(s) > maxURL {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Fragment == "" && u.User == nil
}

// MaxRelayState bounds a RelayState (SAML bindings 3.4.3 asks for at most
// 80 bytes from a service provider; ours are registered by an admin).
const MaxRelayState = 1024

// validRelayState: an absolute https URL with a host, or a path relative
// to the service provider's origin ("/..." but not "//host" or "/\host",
// which browsers read as another host); no fragment, user info or
// control characters.
func validRelayState(s string) bool {
	if len(s) > MaxRelayState || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Fragment != "" || u.User != nil || strings.Contains(s, "#") {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return u.Path != "" && !strings.HasPrefix(s, "//") && !strings.Contains(s, "\\")
	}
	return u.Scheme == "https" && u.Host != "" && u.Opaque == ""
}

func certRSA(c *x509.Certificate) (*rsa.PublicKey, bool) {
	if c == nil {
		return nil, false
	}
	k, ok := c.PublicKey.(*rsa.PublicKey)
	return k, ok
}

// ParseCertificate reads a PEM or base64 DER certificate; nil, nil for "".
func ParseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) > maxCertBytes {
		return nil, errors.New("certificate too large")
	}
	var der []byte
	if b, _ := pem.Decode([]byte(s)); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, errors.New("not a certificate")
		}
		der = b.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return nil, err
		}
	}
	return x509.ParseCertificate(der)
}

// CertFingerprint is the hex SHA-256 of the certificate's DER, "" for none.
func CertFingerprint(s string) string {
	c, err := ParseCertificate(s)
	if err != nil || c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
