package broker

// SAML 2.0 upstreams ("sign in with your company"): we are the service
// provider. The AuthnRequest goes out by HTTP-Redirect with the state as
// RelayState; the IdP posts the Response to the connection's callback (its
// ACS), where it is screened (internal/xmlguard) before crewjam/saml checks
// signature, audience, destination, validity and InResponseTo (the
// request id this login stored, used once).

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/xmlguard"
)

// MetadataURL is a SAML connection's entity id and metadata address.
func (b *Broker) MetadataURL(t *store.Tenant, name string) string {
	return b.PublicURL + "/t/" + t.Slug + "/connections/" + name + "/metadata"
}

// serviceProvider builds the connection's SP with the IdP's metadata
// (inline, or fetched through the bounded client and cached 10 minutes).
func (b *Broker) serviceProvider(ctx context.Context, t *store.Tenant, conn *store.Connection, st connection.Settings) (*crewjam.ServiceProvider, error) {
	secret, err := b.Connections.Secret(conn)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	key, cert, err := connection.SAMLKey(secret)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	raw := []byte(st.MetadataXML)
	if len(raw) == 0 {
		if raw, err = b.fetchMetadata(ctx, st.MetadataURL); err != nil {
			return nil, err
		}
	}
	if err := xmlguard.Check(raw, xmlguard.Limits{}); err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	md, err := parseIdPMetadata(raw)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	acs, _ := url.Parse(b.CallbackURL(t, conn.Name))
	mdURL, _ := url.Parse(b.MetadataURL(t, conn.Name))
	return &crewjam.ServiceProvider{EntityID: mdURL.String(), Key: key, Certificate: cert, MetadataURL: *mdURL,
		AcsURL: *acs, IDPMetadata: md, HTTPClient: b.httpClient(), AuthnNameIDFormat: crewjam.UnspecifiedNameIDFormat,
		RejectSHA1Signatures: true}, nil
}

func (b *Broker) fetchMetadata(ctx context.Context, u string) ([]byte, error) {
	key := "saml-metadata " + u
	b.mu.Lock()
	if b.metadata == nil {
		b.metadata = map[string]cachedMetadata{}
	}
	cm, ok := b.metadata[key]
	b.mu.Unlock()
	if ok && b.now().Sub(cm.at) < 10*time.Minute {
		return cm.raw, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	res, err := b.httpClient().Do(req)
	if err != nil {
		return nil, &Error{Reason: ReasonUnreachable, Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, &Error{Reason: ReasonUnreachable, Err: fmt.Errorf("metadata: %s %v", res.Status, err)}
	}
	b.mu.Lock()
	b.metadata[key] = cachedMetadata{raw: raw, at: b.now()}
	b.mu.Unlock()
	return raw, nil
}

type cachedMetadata struct {
	raw []byte
	at  time.Time
}

// SPMetadata answers the connection's SP metadata (for the IdP's admin).
func (b *Broker) SPMetadata(ctx context.Context, t *store.Tenant, conn *store.Connection) ([]byte, error) {
	st, err := connection.SettingsOf(conn)
	if err != nil {
		return nil, err
	}
	sp, err := b.serviceProvider(ctx, t, conn, st)
	if err != nil {
		return nil, err
	}
	el := sp.Metadata()
	return xmlMarshal(el)
}

// samlStart answers the IdP's SSO URL carrying the AuthnRequest; its id is
// kept (in Pending.Nonce) for the InResponseTo check.
func (b *Broker) samlStart(ctx context.Context, t *store.Tenant, conn *store.Connection, st connection.Settings, p *Pending, state func() (string, error)) (string, string, error) {
	sp, err := b.serviceProvider(ctx, t, conn, st)
	if err != nil {
		return "", "", err
	}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding),
		crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return "", "", &Error{Reason: ReasonConfig, Err: err}
	}
	p.Nonce = req.ID
	st2, err := state()
	if err != nil {
		return "", "", err
	}
	u, err := req.Redirect(st2, sp)
	if err != nil {
		return "", "", &Error{Reason: ReasonConfig, Err: err}
	}
	return u.String(), st2, nil
}

// samlFinish checks the posted Response and maps its assertion.
func (b *Broker) samlFinish(ctx context.Context, t *store.Tenant, conn *store.Connection, st connection.Settings, p Pending, form url.Values) (*Result, error) {
	enc := form.Get("SAMLResponse")
	if enc == "" || len(enc) > 512<<10 {
		return nil, &Error{Reason: ReasonUpstream, Err: errors.New("no SAMLResponse")}
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, &Error{Reason: ReasonToken, Err: err}
	}
	if err := xmlguard.Check(raw, xmlguard.Limits{}); err != nil {
		return nil, &Error{Reason: ReasonToken, Err: err}
	}
	sp, err := b.serviceProvider(ctx, t, conn, st)
	if err != nil {
		return nil, err
	}
	a, err := sp.ParseXMLResponse(raw, []string{p.Nonce}, sp.AcsURL)
	if err != nil {
		var ire *crewjam.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr
		}
		return nil, &Error{Reason: ReasonToken, Err: err}
	}
	attrs := map[string]any{}
	for _, as := range a.AttributeStatements {
		for _, at := range as.Attributes {
			if len(at.Values) > 0 {
				attrs[at.Name] = at.Values[0].Value
				if at.FriendlyName != "" {
					attrs[at.FriendlyName] = at.Values[0].Value
				}
			}
		}
	}
	if a.Subject != nil && a.Subject.NameID != nil {
		attrs["_nameid"] = a.Subject.NameID.Value
		if a.Subject.NameID.Format == string(crewjam.EmailAddressNameIDFormat) {
			attrs["_nameid_email"] = a.Subject.NameID.Value
		}
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if _, ok := attrs[k]; ok {
				return k
			}
		}
		return ""
	}
	prof := mapProfile(attrs, st.Mapping, map[string]string{"subject": "_nameid",
		"email": first("email", "mail", "urn:oid:0.9.2342.19200300.100.1.3",
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "_nameid_email"),
		"given_name": first("given_name", "givenName", "urn:oid:2.5.4.42"), "family_name": first("family_name", "sn", "surname", "urn:oid:2.5.4.4"),
		"name": first("name", "displayName", "cn")})
	// A company IdP's address is asserted, not verified: it never links an
	// existing account by itself.
	prof.EmailVerified = false
	if prof.Subject == "" {
		return nil, &Error{Reason: ReasonProfile, Err: errors.New("assertion without a NameID")}
	}
	return &Result{Profile: prof}, nil
}

func xmlMarshal(v any) ([]byte, error) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// parseIdPMetadata reads an EntityDescriptor, or the one entity of an
// EntitiesDescriptor that has an IDPSSODescriptor.
func parseIdPMetadata(raw []byte) (*crewjam.EntityDescriptor, error) {
	var one crewjam.EntityDescriptor
	if err := xml.Unmarshal(raw, &one); err == nil && len(one.IDPSSODescriptors) > 0 {
		return &one, nil
	}
	var many crewjam.EntitiesDescriptor
	if err := xml.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	var found *crewjam.EntityDescriptor
	for i := range many.EntityDescriptors {
		if len(many.EntityDescriptors[i].IDPSSODescriptors) > 0 {
			if found != nil {
				return nil, errors.New("metadata names several IdPs")
			}
			found = &many.EntityDescriptors[i]
		}
	}
	if found == nil {
		return nil, errors.New("metadata names no IdP")
	}
	return found, nil
}
