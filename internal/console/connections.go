package console

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The connections page: the tenant's upstream identity providers, and a
// new one from a preset (Google, Microsoft, GitHub, Facebook) or a
// generic OpenID Connect provider by its issuer, through connection's
// rules (the preset fills endpoints, scopes and mapping) and audit. The
// client secret is sealed by the service and never shown again. Apple,
// SAML upstreams and legacy user stores, which need more than these
// fields, are registered through the API or the CLI.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/connections", Perm: authz.PermConfig, Nav: "console2.nav.connections", Order: 50, Handle: c.connectionsList},
			{Method: "POST", Path: "/connections", Perm: authz.PermAdmin, Handle: c.connectionCreate},
		}
	})
}

var connectionsTmpl = parse("connections.html")

// connectionTypes are the kinds the form offers, presets first.
var connectionTypes = []string{connection.TypeGoogle, connection.TypeMicrosoft, connection.TypeGitHub, connection.TypeFacebook, connection.TypeOIDC}

type connectionsData struct {
	Connections []store.Connection
	Types       []string
	Form        connectionForm
	CanCreate   bool
	// CallbackBase + name + "/callback" is the redirect URI to register
	// at the provider.
	CallbackBase string
}

type connectionForm struct {
	Type, Name, DisplayName, ClientID, Issuer string
}

func (c *Console) connectionsData(rq *Request, f connectionForm) (connectionsData, error) {
	cs, err := c.Connections.List(rq.Context(), rq.Tenant.ID, store.Page{Limit: 200})
	return connectionsData{Connections: cs, Types: connectionTypes, Form: f, CanCreate: rq.Can(authz.PermAdmin),
		CallbackBase: strings.TrimSuffix(c.PublicURL, "/") + "/t/" + rq.Tenant.Slug + "/connections/"}, err
}

func (c *Console) connectionsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	d, err := c.connectionsData(rq, connectionForm{Type: connection.TypeGoogle})
	if err != nil {
		return err
	}
	return rq.Render(w, http.StatusOK, connectionsTmpl, "console2.connections.title", d)
}

func (c *Console) connectionCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	p := r.PostForm
	f := connectionForm{Type: p.Get("type"), Name: strings.TrimSpace(p.Get("name")), DisplayName: strings.TrimSpace(p.Get("display_name")),
		ClientID: strings.TrimSpace(p.Get("client_id")), Issuer: strings.TrimSpace(p.Get("issuer"))}
	in := connection.NewConnection{Type: f.Type, Name: f.Name, DisplayName: f.DisplayName, ClientSecret: p.Get("client_secret"),
		Settings: connection.Settings{ClientID: f.ClientID, Issuer: f.Issuer}}
	_, err := c.Connections.Create(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		d, lerr := c.connectionsData(rq, f)
		if lerr != nil {
			return lerr
		}
		return rq.RenderForm(w, http.StatusBadRequest, connectionsTmpl, "console2.connections.title", d, err)
	}
	return rq.Redirect(w, "/connections", "console2.connections.created")
}
