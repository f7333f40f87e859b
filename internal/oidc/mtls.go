package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Mutual TLS (RFC 8705): a client may authenticate with its TLS client
// certificate (tls_client_auth: a certificate of a trusted CA naming the
// client; self_signed_tls_client_auth: a certificate registered in the
// client's jwks), and its access tokens may be bound to the certificate
// (cnf.x5t#S256), then accepted only over a connection presenting it.
// The certificate is the one of the TLS connection when Gatehouse
// terminates TLS, or the one a trusted proxy forwards in a header.

// MTLSConfig says where client certificates come from and which CAs
// issue tls_client_auth certificates.
type MTLSConfig struct {
	// TrustedProxies may forward the client's certificate in CertHeader;
	// the header from any other peer is ignored.
	TrustedProxies []netip.Prefix
	// CertHeader names the forwarded certificate's header (RFC 9440
	// Client-Cert form, or the URL-escaped PEM nginx and others send);
	// "" is X-Client-Cert.
	CertHeader string
	// ClientCAs verify tls_client_auth certificates; nil refuses them all.
	ClientCAs *x509.CertPool
}

// DefaultCertHeader is the forwarded client certificate's header.
const DefaultCertHeader = "X-Client-Cert"

// maxCertHeader bounds a forwarded certificate (a chain fits easily).
const maxCertHeader = 16 << 10

type clientCertKey struct{}

// withClientCert puts the request's client certificate, if any, in ctx:
// the TLS connection's, else a trusted proxy's forwarded one. An
// unparsable forwarded certificate counts as none.
func (p *Provider) withClientCert(ctx context.Context, r *http.Request) context.Context {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return context.WithValue(ctx, clientCertKey{}, r.TLS.PeerCertificates)
	}
	if chain := p.forwardedCert(r); chain != nil {
		return context.WithValue(ctx, clientCertKey{}, chain)
	}
	return ctx
}

// clientCertFrom is the request's certificate chain, leaf first; nil
// without one.
func clientCertFrom(ctx context.Context) []*x509.Certificate {
	c, _ := ctx.Value(clientCertKey{}).([]*x509.Certificate)
	return c
}

// forwardedCert reads the certificate a trusted proxy forwards: exactly
// one header, from a peer in TrustedProxies.
func (p *Provider) forwardedCert(r *http.Request) []*x509.Certificate {
	name := p.mtls.CertHeader
	if name == "" {
		name = DefaultCertHeader
	}
	vals := r.Header.Values(name)
	if len(vals) != 1 || len(vals[0]) > maxCertHeader || len(p.mtls.TrustedProxies) == 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !inPrefixes(addr.Unmap(), p.mtls.TrustedProxies) {
		return nil
	}
	cert := parseForwardedCert(vals[0])
	if cert == nil {
		return nil
	}
	return []*x509.Certificate{cert}
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseForwardedCert reads a header value as RFC 9440 Client-Cert (a
// structured-field byte sequence, :base64 DER:) or as URL-escaped PEM
// (nginx's $ssl_client_escaped_cert); nil when it is neither.
func parseForwardedCert(v string) *x509.Certificate {
	v = strings.TrimSpace(v)
	var der []byte
	if len(v) > 2 && v[0] == ':' && v[len(v)-1] == ':' {
		b, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return nil
		}
		der = b
	} else {
		s, err := url.QueryUnescape(v)
		if err != nil {
			return nil
		}
		blk, _ := pem.Decode([]byte(s))
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil
		}
		der = blk.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}

// certThumbprint is the x5t#S256 of a certificate: base64url SHA-256 of
// its DER.
func certThumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// isTLSMethod: the client authenticates by certificate.
func isTLSMethod(m string) bool {
	return m == oauthclient.AuthTLSClient || m == oauthclient.AuthSelfSignedTLSClient
}

// verifyTLSClient authenticates a client registered for mutual TLS
// (RFC 8705 2): the request names it by client_id, carries no secret or
// assertion, and its certificate matches the registration. done is false
// when the request is not for such a client (the other methods decide).
func (s *server) verifyTLSClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (c *client, done bool, err error) {
	d := r.Data
	if d.ClientID == "" || d.ClientSecret != "" || d.ClientAssertion != "" || d.ClientAssertionType != "" {
		return nil, false, nil
	}
	c, err = s.p.storage.client(ctx, d.ClientID)
	if err != nil || !isTLSMethod(c.c.AuthMethod) {
		return nil, false, nil
	}
	chain := clientCertFrom(ctx)
	if chain == nil {
		return nil, true, oidc.ErrInvalidClient().WithDescription("client authentication failed: a client certificate is required")
	}
	ok := false
	if c.c.AuthMethod == oauthclient.AuthTLSClient {
		ok = s.p.pkiMatches(ctx, c, chain)
	} else {
		ok = selfSignedMatches(c, chain[0])
	}
	if !ok {
		return nil, true, errClientAuth()
	}
	return c, true, nil
}

// pkiMatches: the leaf chains to a CA for client authentication (the
// tenant's own bundle, else the deployment's), is valid now, and carries
// the registered field.
func (p *Provider) pkiMatches(ctx context.Context, c *client, chain []*x509.Certificate) bool {
	inter := x509.NewCertPool()
	for _, x := range chain[1:] {
		inter.AddCert(x)
	}
	leaf := chain[0]
	verified := false
	for _, roots := range []*x509.CertPool{tenancy.ClientCAsOf(tenantFrom(ctx)), p.mtls.ClientCAs} {
		if roots == nil {
			continue
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			CurrentTime: p.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return false
	}
	s := c.c.Security
	switch {
	case s.TLSSubjectDN != "":
		return sameDN(leaf.Subject.String(), s.TLSSubjectDN)
	case s.TLSSANDNS != "":
		return containsFold(leaf.DNSNames, s.TLSSANDNS)
	case s.TLSSANEmail != "":
		return containsFold(leaf.EmailAddresses, s.TLSSANEmail)
	case s.TLSSANIP != "":
		want := net.ParseIP(s.TLSSANIP)
		for _, ip := range leaf.IPAddresses {
			if want != nil && ip.Equal(want) {
				return true
			}
		}
	case s.TLSSANURI != "":
		for _, u := range leaf.URIs {
			if u.String() == s.TLSSANURI {
				return true
			}
		}
	}
	return false
}

// sameDN compares RFC 4514 distinguished names, ignoring case and the
// spaces after separators that some tools write.
func sameDN(got, want string) bool {
	norm := func(s string) string {
		parts := strings.Split(s, ",")
		for i, p := range parts {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			parts[i] = strings.ToUpper(strings.TrimSpace(k)) + "=" + strings.TrimSpace(v)
		}
		return strings.ToLower(strings.Join(parts, ","))
	}
	return norm(got) == norm(want)
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// selfSignedMatches: the certificate is the first of an x5c chain of a
// key in the client's registered jwks (RFC 8705 2.2).
func selfSignedMatches(c *client, leaf *x509.Certificate) bool {
	var set jose.JSONWebKeySet
	if len(c.c.JWKS) == 0 || json.Unmarshal(c.c.JWKS, &set) != nil {
		return false
	}
	for _, k := range set.Keys {
		if len(k.Certificates) > 0 && k.Certificates[0].Equal(leaf) {
			return true
		}
	}
	return false
}

// certBinding is the x5t#S256 a grant's access token is bound to: the
// request's certificate when the client registered certificate-bound
// tokens or is under the FAPI 2.0 profile; "" otherwise. A client that registered bound tokens without presenting
// a certificate is refused (checked in tokenBinding, before anything is
// spent).
func (p *Provider) certBinding(ctx context.Context, c *client) string {
	chain := clientCertFrom(ctx)
	if chain == nil || !(c.c.Security.TLSBound || c.c.Security.FAPI2()) {
		return ""
	}
	return certThumbprint(chain[0])
}

// requireCert refuses a token request of a client registered for
// certificate-bound tokens that presents no certificate.
func requireCert(ctx context.Context, c *client) error {
	if c.c.Security.TLSBound && clientCertFrom(ctx) == nil {
		return oidc.ErrInvalidRequest().WithDescription("this client's tokens are bound to its TLS client certificate: present one")
	}
	return nil
}

// cnfX5T is the x5t#S256 of a token's cnf claim, "" when it has none.
func cnfX5T(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	x, _ := cnf["x5t#S256"].(string)
	return x
}

// userinfoMTLS runs at userinfo before the op router: a token bound to a
// certificate (cnf.x5t#S256) is accepted only over a request presenting
// that certificate (RFC 8705 3); else 401 invalid_token. It answers true
// when it has written the response.
func (p *Provider) userinfoMTLS(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	_, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || token == "" {
		return false
	}
	claims, _, err := p.verifyAccessToken(ctx, token) // jwtaccess.go: verified once per request
	if err != nil {
		return false
	}
	want := cnfX5T(claims.Claims)
	if want == "" {
		return false
	}
	chain := clientCertFrom(ctx)
	if chain != nil && certThumbprint(chain[0]) == want {
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the access token is bound to a TLS client certificate this request does not present"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token",
		"error_description": "the access token is bound to a TLS client certificate this request does not present"})
	return true
}

// senderConstraint runs before a grant spends anything: a client
// registered for certificate-bound tokens presents a certificate, and a
// FAPI 2.0 client's tokens are sender-constrained by DPoP or mTLS
// (fapi.go).
func (p *Provider) senderConstraint(ctx context.Context, c *client, proof *dpopProof) error {
	if err := requireCert(ctx, c); err != nil {
		return err
	}
	return fapiBinding(ctx, c, proof)
}

// The mTLS methods as the library's type, for discovery.
const (
	authTLSClient           = oidc.AuthMethod(oauthclient.AuthTLSClient)
	authSelfSignedTLSClient = oidc.AuthMethod(oauthclient.AuthSelfSignedTLSClient)
)

// introspectTLS serves introspection for a client authenticating by
// certificate: the library's handler wants a secret or an assertion
// before it asks us. Any other request is left to it (false).
func (p *Provider) introspectTLS(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		return false
	}
	f := r.PostForm
	if _, _, basic := r.BasicAuth(); basic || f.Get("client_secret") != "" || f.Get("client_assertion") != "" || f.Get("client_id") == "" {
		return false
	}
	ctx := op.ContextWithIssuer(r.Context(), p.issuer(r.Context()))
	if c, err := p.storage.client(ctx, f.Get("client_id")); err != nil || !isTLSMethod(c.c.AuthMethod) {
		return false
	}
	if f.Get("token") == "" {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("token missing"), nil)
		return true
	}
	resp, err := p.srv.Introspect(ctx, &op.Request[op.IntrospectionRequest]{Method: r.Method, URL: r.URL, Header: r.Header,
		Form: r.Form, PostForm: r.PostForm, Data: &op.IntrospectionRequest{
			ClientCredentials:    &op.ClientCredentials{ClientID: f.Get("client_id")},
			IntrospectionRequest: &oidc.IntrospectionRequest{Token: f.Get("token")}}})
	if err != nil {
		op.WriteError(w, r, err, nil)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp.Data)
	return true
}
