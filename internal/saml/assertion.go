package saml

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const attrNameFormatBasic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"

// describe is a registration as the metadata crewjam reads: its signing
// certificate verifies its requests, its encryption certificate is listed
// only when it wants encrypted assertions (crewjam encrypts to any it
// finds), and AuthnRequestsSigned makes crewjam refuse unsigned requests.
func describe(sp *store.SAMLServiceProvider) (*crewjam.EntityDescriptor, error) {
	d := crewjam.SPSSODescriptor{AuthnRequestsSigned: &sp.RequestsSigned, WantAssertionsSigned: &sp.SignAssertion}
	d.ProtocolSupportEnumeration = "urn:oasis:names:tc:SAML:2.0:protocol"
	cert, err := samlreg.ParseCertificate(sp.Certificate)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		info := crewjam.KeyInfo{X509Data: crewjam.X509Data{X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}}}}
		d.KeyDescriptors = append(d.KeyDescriptors, crewjam.KeyDescriptor{Use: "signing", KeyInfo: info})
		if sp.EncryptAssertion {
			d.KeyDescriptors = append(d.KeyDescriptors, crewjam.KeyDescriptor{Use: "encryption", KeyInfo: info,
				EncryptionMethods: []crewjam.EncryptionMethod{{Algorithm: "http://www.w3.org/2009/xmlenc11#aes256-gcm"}}})
		}
	}
	for _, e := range sp.ACS {
		def := e.Default
		d.AssertionConsumerServices = append(d.AssertionConsumerServices, crewjam.IndexedEndpoint{
			Binding: e.Binding, Location: e.Location, Index: e.Index, IsDefault: &def})
	}
	if sp.SLOURL != "" {
		d.SingleLogoutServices = []crewjam.Endpoint{{Binding: sp.SLOBinding, Location: sp.SLOURL}}
	}
	d.NameIDFormats = []crewjam.NameIDFormat{crewjam.NameIDFormat(sp.NameIDFormat)}
	return &crewjam.EntityDescriptor{EntityID: sp.EntityID, SPSSODescriptors: []crewjam.SPSSODescriptor{d}}, nil
}

// attributes are the provider's mapped attributes of u (the default
// mapping when it has none), sorted by name; empty values are left out.
func (p *IdP) attributes(ctx context.Context, t *store.Tenant, sp *store.SAMLServiceProvider, u *store.User) ([]crewjam.Attribute, error) {
	mapping := samlreg.Mapping(sp)
	var profile map[string]any
	_ = json.Unmarshal(u.Attributes, &profile)
	var out []crewjam.Attribute
	for _, name := range slices.Sorted(maps.Keys(mapping)) {
		vals, err := p.source(ctx, t, u, profile, mapping[name])
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			continue
		}
		a := crewjam.Attribute{Name: name, NameFormat: attrNameFormatBasic}
		for _, v := range vals {
			a.Values = append(a.Values, crewjam.AttributeValue{Type: "xs:string", Value: v})
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *IdP) source(ctx context.Context, t *store.Tenant, u *store.User, profile map[string]any, src string) ([]string, error) {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch src {
	case "user_id":
		return one(u.ID), nil
	case "email":
		return one(u.Email), nil
	case "email_verified":
		return one(strconv.FormatBool(u.EmailVerified)), nil
	case "username":
		return one(u.Username), nil
	case "name":
		return one(strings.TrimSpace(u.GivenName + " " + u.FamilyName)), nil
	case "given_name":
		return one(u.GivenName), nil
	case "family_name":
		return one(u.FamilyName), nil
	case "phone":
		return one(u.Phone), nil
	case "locale":
		return one(u.Locale), nil
	case "groups":
		gs, err := p.cfg.Store.Groups().UserGroups(ctx, t.ID, u.ID, true)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, g := range gs {
			names = append(names, g.Name)
		}
		slices.Sort(names)
		return names, nil
	case "roles":
		if p.cfg.Roles == nil {
			return nil, nil
		}
		return p.cfg.Roles(ctx, t.ID, u.ID)
	}
	key, ok := strings.CutPrefix(src, "attr:")
	if !ok {
		return nil, nil
	}
	switch v := profile[key].(type) {
	case string:
		return one(v), nil
	case bool, float64:
		return []string{fmt.Sprint(v)}, nil
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return nil, nil
}

// responseWriter builds the Response with the provider's signing choices
// (assertion, response or both; crewjam's MakeResponse always signs both)
// and posts it to the ACS URL from a page whose CSP allows exactly that.
type responseWriter struct {
	p *IdP
	t *store.Tenant
}

func (rw *responseWriter) WriteResponse(w http.ResponseWriter, req *crewjam.IdpAuthnRequest) error {
	if req.ResponseEl == nil { // an error Response is already made
		if err := rw.makeResponse(req); err != nil {
			return err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl)
	buf, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return writePostForm(w, req.ACSEndpoint.Location, "SAMLResponse", base64.StdEncoding.EncodeToString(buf), req.RelayState)
}

func (rw *responseWriter) makeResponse(req *crewjam.IdpAuthnRequest) error {
	sp, err := rw.p.cfg.Store.SAML().ServiceProviders().GetSPByEntityID(req.HTTPRequest.Context(), rw.t.ID, req.ServiceProviderMetadata.EntityID)
	if err != nil {
		return err
	}
	if sp.SignAssertion && sp.SignResponse {
		return req.MakeResponse()
	}
	if sp.SignAssertion {
		if err := req.MakeAssertionEl(); err != nil {
			return err
		}
	} else if req.AssertionEl, err = rw.unsignedAssertion(req, sp); err != nil {
		return err
	}
	idBytes := make([]byte, 20)
	if _, err := rand.Read(idBytes); err != nil {
		return err
	}
	response := &crewjam.Response{
		Destination: req.ACSEndpoint.Location, ID: "id-" + hex.EncodeToString(idBytes), InResponseTo: req.Request.ID,
		IssueInstant: req.Now, Version: "2.0",
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: req.IDP.MetadataURL.String()},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
	}
	el := response.Element()
	el.AddChild(req.AssertionEl)
	if sp.SignResponse {
		ctx, err := signingContext(req.IDP)
		if err != nil {
			return err
		}
		signed, err := ctx.SignEnveloped(el)
		if err != nil {
			return err
		}
		// The signature belongs right after the Issuer (saml-core 5.4.1).
		response.Signature = signed.ChildElements()[len(signed.ChildElements())-1]
		el = response.Element()
		el.AddChild(req.AssertionEl)
	}
	req.ResponseEl = el
	return nil
}

// unsignedAssertion is the assertion element, encrypted when the provider
// asked for it, for a provider that wants only the response signed.
func (rw *responseWriter) unsignedAssertion(req *crewjam.IdpAuthnRequest, sp *store.SAMLServiceProvider) (*etree.Element, error) {
	el := req.Assertion.Element()
	if !sp.EncryptAssertion {
		return el, nil
	}
	cert, err := samlreg.ParseCertificate(sp.Certificate)
	if err != nil || cert == nil {
		return nil, errors.New("saml: no certificate to encrypt to")
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	buf, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	data, err := req.IDP.AssertionEncrypter.Encrypt(cert, buf, nil)
	if err != nil {
		return nil, err
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	enc := etree.NewElement("saml:EncryptedAssertion")
	enc.AddChild(data)
	return enc, nil
}

// signingContext signs with the tenant's active key, RSA-SHA256, exclusive
// canonicalisation, as crewjam does for what it signs.
func signingContext(idp *crewjam.IdentityProvider) (*dsig.SigningContext, error) {
	ks := dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{idp.Certificate.Raw}, PrivateKey: idp.Key, Leaf: idp.Certificate})
	ctx := dsig.NewDefaultSigningContext(ks)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	return ctx, nil
}

const postScript = `document.forms[0].submit()`

var postScriptHash = func() string {
	h := sha256.Sum256([]byte(postScript))
	return base64.StdEncoding.EncodeToString(h[:])
}()

var postTmpl = template.Must(template.New("p").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Continue</title>` +
	`<form method="post" action="{{.Action}}"><input type="hidden" name="{{.Param}}" value="{{.Value}}">` +
	`{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}` +
	`<noscript><button type="submit">Continue</button></noscript></form><script>` + postScript + `</script></html>`))

// writePostForm answers with a self-submitting form to action (a
// registered endpoint): the CSP allows its one script and that origin.
func writePostForm(w http.ResponseWriter, action, param, value, relayState string) error {
	u, err := url.Parse(action)
	if err != nil || u.Host == "" {
		return errors.New("saml: bad endpoint URL")
	}
	var buf bytes.Buffer
	if err := postTmpl.Execute(&buf, map[string]string{"Action": action, "Param": param, "Value": value, "RelayState": relayState}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+postScriptHash+"'; form-action "+u.Scheme+"://"+u.Host+"; frame-ancestors 'none'; base-uri 'none'")
	_, err = w.Write(buf.Bytes())
	return err
}
