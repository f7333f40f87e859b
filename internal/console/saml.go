package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The SAML service provider pages: register one from its metadata URL
// (fetched through the safe HTTP client: no private, loopback or
// link-local destinations, no redirects, bounded size and time), from its
// metadata file (read into the form by the page's script, or pasted), or
// from fields, with samlreg's rules; and show what the provider needs of
// us: the IdP metadata URL and the signing certificate.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/apps/saml/new", Perm: authz.PermAdmin, Handle: c.samlNewForm},
			{Method: "POST", Path: "/apps/saml", Perm: authz.PermAdmin, Handle: c.samlCreate},
			{Method: "GET", Path: "/apps/saml/{id}", Perm: authz.PermConfig, Handle: c.samlShow},
		}
	})
}

var (
	samlNewTmpl  = parse("saml_new.html", "saml_idp.html")
	samlShowTmpl = parse("saml_show.html", "saml_idp.html")
)

// maxMetadata bounds a fetched metadata document.
const maxMetadata = 1 << 20

// idpInfo is what a service provider is configured with.
type idpInfo struct {
	MetadataURL string
	Certificate string // PEM
	Scripts     []string
}

type samlForm struct {
	Name, MetadataURL, Metadata, EntityID, ACSURL, Certificate string
	IdP                                                        idpInfo
}

var x509RE = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?X509Certificate(?:\s[^>]*)?>\s*([A-Za-z0-9+/=\s]+?)\s*</`)

// idp reads the tenant's IdP metadata in process for its certificate.
func (c *Console) idp(rq *Request) (idpInfo, error) {
	u := strings.TrimSuffix(c.PublicURL, "/") + "/t/" + rq.Tenant.Slug + "/saml/metadata"
	info := idpInfo{MetadataURL: u, Scripts: []string{"/admin/charts/apps.js"}}
	req, err := http.NewRequestWithContext(rq.Context(), http.MethodGet, u, nil)
	if err != nil {
		return info, err
	}
	res, err := (&http.Client{Transport: loopbackTransport{c.loopback}}).Do(req)
	if err != nil {
		return info, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxMetadata))
	if err != nil {
		return info, err
	}
	if m := x509RE.FindSubmatch(body); m != nil && res.StatusCode == http.StatusOK {
		b64 := strings.Join(strings.Fields(string(m[1])), "")
		var pem strings.Builder
		pem.WriteString("-----BEGIN CERTIFICATE-----\n")
		for len(b64) > 64 {
			pem.WriteString(b64[:64] + "\n")
			b64 = b64[64:]
		}
		pem.WriteString(b64 + "\n-----END CERTIFICATE-----\n")
		info.Certificate = pem.String()
	}
	return info, nil
}

func (c *Console) samlNewForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	info, err := c.idp(rq)
	if err != nil {
		return err
	}
	return rq.Render(w, http.StatusOK, samlNewTmpl, "console2.saml.new", samlForm{IdP: info})
}

// fetchMetadata GETs a provider's metadata URL through the safe client:
// https (http only where the deployment allows it, in development), no
// redirects, at most maxMetadata bytes. Its errors are field errors of
// metadata_url, worded for the operator, never the transport's text.
func (c *Console) fetchMetadata(ctx context.Context, raw string) (string, error) {
	bad := func(msg string) error { return valid.Field("metadata_url", "unreachable", msg) }
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && c.More.AllowHTTPMetadata)) {
		return "", valid.Field("metadata_url", "invalid", "Enter an https:// URL of the provider's metadata.")
	}
	if c.More.MetadataClient == nil {
		return "", bad("Fetching metadata is not available here; upload the file instead.")
	}
	cl := *c.More.MetadataClient
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", bad("The metadata URL could not be fetched.")
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	res, err := cl.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return "", err
		}
		return "", bad("The metadata URL could not be fetched (the address is refused or does not answer).")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", bad(fmt.Sprintf("The metadata URL answered HTTP %d, not 200.", res.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxMetadata+1))
	if err != nil {
		return "", bad("The metadata URL could not be read to the end.")
	}
	if len(body) > maxMetadata {
		return "", bad("The metadata is larger than 1 MB.")
	}
	return string(body), nil
}

// samlCreate: POST /apps/saml.
func (c *Console) samlCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	p := r.PostForm
	f := samlForm{Name: strings.TrimSpace(p.Get("name")), MetadataURL: strings.TrimSpace(p.Get("metadata_url")),
		Metadata: strings.TrimSpace(p.Get("metadata")), EntityID: strings.TrimSpace(p.Get("entity_id")),
		ACSURL: strings.TrimSpace(p.Get("acs_url")), Certificate: strings.TrimSpace(p.Get("certificate"))}
	info, err := c.idp(rq)
	if err != nil {
		return err
	}
	f.IdP = info
	in := samlreg.NewSP{Name: f.Name, Metadata: f.Metadata, EntityID: f.EntityID, Certificate: f.Certificate}
	if f.ACSURL != "" {
		in.ACS = []store.SAMLEndpoint{{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", Location: f.ACSURL, Index: 0, Default: true}}
	}
	if f.MetadataURL != "" {
		if f.Metadata != "" {
			err = valid.Field("metadata_url", "conflict", "Give the metadata URL or the metadata file, not both.")
			return rq.RenderForm(w, http.StatusBadRequest, samlNewTmpl, "console2.saml.new", f, err)
		}
		md, err := c.fetchMetadata(rq.Context(), f.MetadataURL)
		if err != nil {
			return rq.RenderForm(w, http.StatusBadRequest, samlNewTmpl, "console2.saml.new", f, err)
		}
		in.Metadata = md
	}
	sp, err := c.More.SAMLSPs.Create(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		return rq.RenderForm(w, http.StatusBadRequest, samlNewTmpl, "console2.saml.new", f, err)
	}
	return rq.Redirect(w, "/apps/saml/"+sp.ID, "console2.saml.created")
}

type samlShowData struct {
	SP  *store.SAMLServiceProvider
	IdP idpInfo
}

// samlShow: GET /apps/saml/{id}.
func (c *Console) samlShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	sp, err := c.More.SAMLSPs.Get(rq.Context(), rq.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	info, err := c.idp(rq)
	if err != nil {
		return err
	}
	return rq.Render(w, http.StatusOK, samlShowTmpl, "console2.saml.sp", samlShowData{SP: sp, IdP: info})
}
