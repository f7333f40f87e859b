package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// clientJSON is a client as the CLI prints it (the API's shape); the secret
// only when one was just made.
type clientJSON struct {
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	Name                    string    `json:"name"`
	Public                  bool      `json:"public"`
	ThirdParty              bool      `json:"third_party"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	RedirectURIs            []string  `json:"redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	Scopes                  []string  `json:"scopes"`
	AllowedOrigins          []string  `json:"allowed_origins"`
	Introspection           string    `json:"introspection"`
	IDTokenAlg              string    `json:"id_token_signed_response_alg"`
	HasSecret               bool      `json:"has_secret"`
	Version                 int64     `json:"version"`
	CreatedAt               time.Time `json:"created_at"`
}

func clientView(c *store.Client, secret string) clientJSON {
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return clientJSON{ClientID: c.ID, ClientSecret: secret, Name: c.Name, Public: c.Public,
		ThirdParty: c.ThirdParty, TokenEndpointAuthMethod: c.AuthMethod,
		RedirectURIs: list(c.RedirectURIs), GrantTypes: list(c.GrantTypes), Scopes: list(c.Scopes),
		AllowedOrigins: list(c.AllowedOrigins), Introspection: c.Introspection, IDTokenAlg: c.IDTokenAlg,
		HasSecret: len(c.SecretHash) > 0, Version: c.Version, CreatedAt: c.CreatedAt}
}

// tenantFlag resolves --tenant (clients always belong to a tenant).
func tenantFlag(ctx context.Context, app *server.App, ref string) (store.TenantID, error) {
	if ref == "" {
		return "", fmt.Errorf("give --tenant SLUG")
	}
	t, err := app.Tenants.Resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("tenant %q: %w", ref, err)
	}
	return t.ID, nil
}

func runClient(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: gatehouse client create|list|delete --tenant SLUG [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "client "+args[0])
	tenant := fs.String("tenant", "", "tenant slug or id")
	switch args[0] {
	case "create":
		var in oauthclient.NewClient
		var redirects, grants, scopes, logouts, origins listFlag
		fs.StringVar(&in.Name, "name", "", "the client's display name")
		fs.Var(&redirects, "redirect-uri", "a redirect URI (repeat for more); needed with authorization_code")
		fs.Var(&logouts, "post-logout-redirect-uri", "a post-logout redirect URI (repeat for more)")
		fs.Var(&grants, "grant", "a grant type (repeat for more; default authorization_code and refresh_token)")
		fs.Var(&scopes, "scope", "a scope the client may ask for (repeat for more; default the OIDC scopes)")
		fs.BoolVar(&in.Public, "public", false, "a public client (browser or native app): no secret, PKCE required")
		fs.BoolVar(&in.ThirdParty, "third-party", false, "a third-party client: users see a consent screen")
		fs.StringVar(&in.TokenEndpointAuthMethod, "auth-method", "", "client_secret_basic (default), client_secret_post, private_key_jwt or none")
		fs.Var(&origins, "allowed-origin", "a web origin (https://app.example.com) whose pages may call the token, userinfo and revocation endpoints (repeat for more)")
		fs.StringVar(&in.Introspection, "introspection", "", "own (default: introspection answers for the client's own tokens) or audience (a resource server)")
		fs.StringVar(&in.IDTokenSignedResponseAlg, "id-token-alg", "", "the ID tokens' signature: RS256 (default), ES256 or EdDSA, for a client that verifies it")
		asJSON := fs.Bool("json", false, "print the client as JSON, on one line")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if fs.NArg() != 0 {
				return fmt.Errorf("unexpected argument %q", fs.Arg(0))
			}
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			in.RedirectURIs, in.PostLogoutRedirectURIs, in.GrantTypes, in.Scopes = redirects, logouts, grants, scopes
			in.AllowedOrigins = origins
			c, secret, err := app.Clients.CreateClient(ctx, cliActor(), tn, in)
			if err != nil {
				return err
			}
			if *asJSON {
				// One line, so scripts can take the last line of stdout.
				return json.NewEncoder(env.stdout).Encode(clientView(c, secret))
			}
			fmt.Fprintf(env.stdout, "client_id: %s\n", c.ID)
			if secret != "" {
				fmt.Fprintln(env.stderr, "The client secret below is shown once; store it now.")
				fmt.Fprintf(env.stdout, "client_secret: %s\n", secret)
			}
			return nil
		})
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			var all []store.Client
			p := store.Page{Limit: 1000}
			for {
				cs, err := app.Clients.ListClients(ctx, tn, p)
				if err != nil {
					return err
				}
				all = append(all, cs...)
				if len(cs) < p.Limit {
					break
				}
				p.After = cs[len(cs)-1].ID
			}
			if *asJSON {
				out := make([]clientJSON, len(all))
				for i := range all {
					out[i] = clientView(&all[i], "")
				}
				return printJSON(env, out)
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tGRANTS")
			for _, c := range all {
				kind := "confidential"
				if c.Public {
					kind = "public"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, strings.Join(c.GrantTypes, ","))
			}
			return tw.Flush()
		})
	case "delete":
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if fs.NArg() != 1 {
				return fmt.Errorf("give the client id")
			}
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			id := fs.Arg(0)
			if err := app.Clients.DeleteClient(ctx, cliActor(), tn, id); err != nil {
				return fmt.Errorf("client %s: %w", id, err)
			}
			fmt.Fprintf(env.stdout, "deleted %s\n", id)
			return nil
		})
	}
	fmt.Fprintf(env.stderr, "gatehouse client: unknown subcommand %q\n", args[0])
	return errUsage
}

func printJSON(env *cliEnv, v any) error {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
