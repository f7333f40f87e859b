package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/clientsnippet"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The applications pages: the tenant's OIDC clients and SAML service
// providers, and the OIDC client wizard. The wizard asks for the kind of
// application (web, single-page, native, machine to machine, device),
// registers the client with the settings of that kind through
// oauthclient (the API's rules: its field errors are shown inline), and
// shows what the developer needs: the issuer, the endpoints (read from
// the tenant's own discovery document), the redirect URIs, a
// configuration snippet per library, and the secret, once. Rotating the
// secret shows the new one once too.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/apps", Perm: authz.PermConfig, Nav: "console2.nav.apps", Order: 40, Handle: c.appsList},
			{Method: "GET", Path: "/apps/new", Perm: authz.PermAdmin, Handle: c.appNewForm},
			{Method: "POST", Path: "/apps", Perm: authz.PermAdmin, Handle: c.appCreate},
			{Method: "GET", Path: "/apps/oidc/{id}", Perm: authz.PermConfig, Handle: c.appShow},
			{Method: "POST", Path: "/apps/oidc/{id}/secret", Perm: authz.PermAdmin, Handle: c.appRotate},
		}
	})
}

var (
	appsTmpl    = parse("apps.html")
	appNewTmpl  = parse("app_new.html", "app_endpoints.html")
	appShowTmpl = parse("app_show.html", "app_endpoints.html")
)

type appsData struct {
	Clients   []store.Client
	SPs       []store.SAMLServiceProvider
	CanCreate bool
}

// appsList: GET /apps.
func (c *Console) appsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	cs, err := c.More.Clients.ListClients(rq.Context(), rq.Tenant.ID, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	sps, err := c.More.SAMLSPs.List(rq.Context(), rq.Tenant.ID, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	// The console's own first-party client is Gatehouse's, not the tenant's.
	cs = slices.DeleteFunc(cs, func(cl store.Client) bool { return strings.HasPrefix(cl.Name, "Gatehouse console") })
	return rq.Render(w, http.StatusOK, appsTmpl, "console2.apps.title", appsData{Clients: cs, SPs: sps, CanCreate: rq.Can(authz.PermAdmin)})
}

// Endpoints are the tenant's OpenID provider endpoints as its discovery
// document states them.
type Endpoints struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	Userinfo      string `json:"userinfo_endpoint"`
	JWKS          string `json:"jwks_uri"`
	Device        string `json:"device_authorization_endpoint"`
	EndSession    string `json:"end_session_endpoint"`
	Discovery     string `json:"-"`
}

// endpoints reads the managed tenant's discovery document in process.
func (c *Console) endpoints(rq *Request) (*Endpoints, error) {
	issuer := strings.TrimSuffix(c.PublicURL, "/") + "/t/" + rq.Tenant.Slug
	disc := issuer + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(rq.Context(), http.MethodGet, disc, nil)
	if err != nil {
		return nil, err
	}
	res, err := (&http.Client{Transport: loopbackTransport{c.loopback}}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var e Endpoints
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&e); err != nil || res.StatusCode != http.StatusOK {
		return nil, errDiscovery
	}
	e.Discovery = disc
	return &e, nil
}

var errDiscovery = &consoleError{"console: the tenant's discovery document could not be read"}

type consoleError struct{ msg string }

func (e *consoleError) Error() string { return e.msg }

// kindChoice is one kind on the wizard's first step.
type kindChoice struct {
	Kind     clientsnippet.Kind
	Selected bool
}

type appForm struct {
	Kind                   clientsnippet.Kind
	Kinds                  []kindChoice
	NeedsRedirect          bool
	Name, RedirectURIs     string
	PostLogoutRedirectURIs string
	Endpoints              *Endpoints
}

func kindChoices(sel clientsnippet.Kind) []kindChoice {
	out := make([]kindChoice, len(clientsnippet.Kinds))
	for i, k := range clientsnippet.Kinds {
		out[i] = kindChoice{Kind: k, Selected: k == sel}
	}
	return out
}

// appNewForm: GET /apps/new shows the kinds; GET /apps/new?kind=K the
// form of kind K.
func (c *Console) appNewForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	f := appForm{}
	if s := r.URL.Query().Get("kind"); s != "" {
		k, err := clientsnippet.ParseKind(s)
		if err != nil {
			return store.ErrNotFound
		}
		f.Kind, f.NeedsRedirect = k, clientsnippet.SettingsFor(k).NeedsRedirect
		e, err := c.endpoints(rq)
		if err != nil {
			return err
		}
		f.Endpoints = e
	}
	f.Kinds = kindChoices(f.Kind)
	return rq.Render(w, http.StatusOK, appNewTmpl, "console2.apps.new", f)
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// appShowData is the page of one client: after the wizard, after a
// rotation (Secret set, shown once) or opened from the list.
type appShowData struct {
	Client    *store.Client
	Kind      clientsnippet.Kind
	Endpoints *Endpoints
	Snippets  []clientsnippet.Snippet
	// Secret is the client secret, on the response of the request that
	// made it only; SecretEnv the variable the snippets read it from.
	Secret    string
	SecretEnv string
	Created   bool
	CanAdmin  bool
}

// appCreate: POST /apps registers a client of the chosen kind.
func (c *Console) appCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	k, err := clientsnippet.ParseKind(r.PostForm.Get("kind"))
	if err != nil {
		return store.ErrNotFound
	}
	set := clientsnippet.SettingsFor(k)
	f := appForm{Kind: k, Kinds: kindChoices(k), NeedsRedirect: set.NeedsRedirect,
		Name: strings.TrimSpace(r.PostForm.Get("name")), RedirectURIs: r.PostForm.Get("redirect_uris"),
		PostLogoutRedirectURIs: r.PostForm.Get("post_logout_redirect_uris")}
	e, err := c.endpoints(rq)
	if err != nil {
		return err
	}
	f.Endpoints = e
	in := oauthclient.NewClient{Name: f.Name, GrantTypes: set.GrantTypes, Public: set.Public, TokenEndpointAuthMethod: set.AuthMethod}
	if set.NeedsRedirect {
		in.RedirectURIs = lines(f.RedirectURIs)
		in.PostLogoutRedirectURIs = lines(f.PostLogoutRedirectURIs)
	}
	cl, secret, err := c.More.Clients.CreateClient(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		return rq.RenderForm(w, http.StatusBadRequest, appNewTmpl, "console2.apps.new", f, err)
	}
	return c.renderApp(w, rq, cl, k, secret, true)
}

// kindOf infers the wizard's kind of a stored client.
func kindOf(cl *store.Client) clientsnippet.Kind {
	switch {
	case slices.Contains(cl.GrantTypes, oauthclient.GrantClientCredentials):
		return clientsnippet.M2M
	case slices.Contains(cl.GrantTypes, oauthclient.GrantDeviceCode):
		return clientsnippet.Device
	case !cl.Public:
		return clientsnippet.Web
	}
	for _, u := range cl.RedirectURIs {
		if p, err := url.Parse(u); err == nil && (p.Scheme != "https" && p.Scheme != "http" || p.Hostname() == "127.0.0.1" || p.Hostname() == "::1") {
			return clientsnippet.Native
		}
	}
	return clientsnippet.SPA
}

func (c *Console) renderApp(w http.ResponseWriter, rq *Request, cl *store.Client, k clientsnippet.Kind, secret string, created bool) error {
	e, err := c.endpoints(rq)
	if err != nil {
		return err
	}
	p := clientsnippet.Params{Kind: k, Issuer: e.Issuer, ClientID: cl.ID, TokenEndpoint: e.Token, DeviceAuthEndpoint: e.Device}
	if len(cl.RedirectURIs) > 0 {
		p.RedirectURI = cl.RedirectURIs[0]
	}
	if len(cl.Scopes) > 0 {
		p.Scopes = cl.Scopes
	}
	d := appShowData{Client: cl, Kind: k, Endpoints: e, Snippets: clientsnippet.For(p), Secret: secret,
		SecretEnv: clientsnippet.SecretEnv, Created: created, CanAdmin: rq.Can(authz.PermAdmin)}
	return rq.Render(w, http.StatusOK, appShowTmpl, "console2.apps.client", d)
}

// appShow: GET /apps/oidc/{id}.
func (c *Console) appShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	cl, err := c.More.Clients.GetClient(rq.Context(), rq.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.renderApp(w, rq, cl, kindOf(cl), "", false)
}

// appRotate: POST /apps/oidc/{id}/secret replaces the client's secret and
// shows the new one, once.
func (c *Console) appRotate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	cl, secret, err := c.More.Clients.RotateSecret(rq.Context(), rq.Actor, rq.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err // a public client's refusal is a field error: the 400 page says it
	}
	return c.renderApp(w, rq, cl, kindOf(cl), secret, false)
}
