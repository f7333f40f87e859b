package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// connectionJSON is a connection as the CLI prints it: no secret.
type connectionJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Enabled     bool   `json:"enabled"`
	HasSecret   bool   `json:"has_secret"`
	CallbackURL string `json:"callback_url"`
	connection.Settings
}

func connectionView(app *server.App, slug string, c *store.Connection) connectionJSON {
	st, _ := connection.SettingsOf(c)
	return connectionJSON{ID: c.ID, Type: c.Type, Name: c.Name, DisplayName: c.DisplayName, Enabled: c.Enabled,
		HasSecret: len(c.SealedSecret) > 0, Settings: st,
		CallbackURL: app.Config.PublicURL + "/t/" + slug + "/connections/" + c.Name + "/callback"}
}

// runConnection manages a tenant's upstream identity providers. The client
// secret is read from a file (--client-secret-file, "-" for stdin) so it
// never shows in the process list or the shell history.
func runConnection(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: gatehouse connection create|list|sync|delete --tenant SLUG [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "connection "+args[0])
	tenant := fs.String("tenant", "", "tenant slug or id")
	resolve := func(app *server.App) (*store.Tenant, error) {
		if *tenant == "" {
			return nil, fmt.Errorf("give --tenant SLUG")
		}
		t, err := app.Tenants.Resolve(ctx, *tenant)
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", *tenant, err)
		}
		return t, nil
	}
	switch args[0] {
	case "create":
		var in connection.NewConnection
		var scopes, domains, clients, maps listFlag
		fs.StringVar(&in.Type, "type", "", "oidc, oauth2, saml, google, microsoft, apple, facebook, github, legacy_ldap or legacy_http")
		fs.StringVar(&in.Name, "name", "", "the connection's name (in its callback URL)")
		fs.StringVar(&in.DisplayName, "display-name", "", "the login button's text")
		fs.StringVar(&in.Issuer, "issuer", "", "OpenID Connect issuer (discovery)")
		fs.StringVar(&in.ClientID, "client-id", "", "client id registered at the provider")
		secretFile := fs.String("client-secret-file", "", "file holding the client secret (Apple: the .p8 key; legacy_ldap: the bind password; legacy_http: the signing key); - for stdin")
		fs.StringVar(&in.AuthorizationEndpoint, "authorization-endpoint", "", "authorization endpoint (OAuth 2.0, or an override)")
		fs.StringVar(&in.TokenEndpoint, "token-endpoint", "", "token endpoint (OAuth 2.0, or an override)")
		fs.StringVar(&in.UserinfoEndpoint, "userinfo-endpoint", "", "profile endpoint (OAuth 2.0, or an override)")
		fs.StringVar(&in.EmailsEndpoint, "emails-endpoint", "", "emails endpoint (GitHub's /user/emails)")
		fs.StringVar(&in.TeamID, "team-id", "", "Apple team id")
		fs.StringVar(&in.KeyID, "key-id", "", "Apple key id")
		fs.StringVar(&in.MetadataURL, "metadata-url", "", "SAML IdP metadata URL")
		fs.Var(&scopes, "scope", "a scope to ask for (repeat for more; default the type's)")
		fs.Var(&domains, "domain", "an email domain that goes straight to this connection (repeat for more)")
		fs.Var(&clients, "client", "an OAuth client id that shows this connection (repeat; default all)")
		fs.Var(&maps, "map", "field=path of the upstream profile (subject, email, email_verified, name, given_name, family_name)")
		fs.BoolVar(&in.StoreTokens, "store-tokens", false, "keep the upstream tokens, sealed")
		legacyFlags(fs, &in.Legacy)
		disabled := fs.Bool("disabled", false, "create it disabled")
		asJSON := fs.Bool("json", false, "print the connection as JSON, on one line")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if fs.NArg() != 0 {
				return fmt.Errorf("unexpected argument %q", fs.Arg(0))
			}
			t, err := resolve(app)
			if err != nil {
				return err
			}
			if *secretFile != "" {
				var raw []byte
				if *secretFile == "-" {
					raw, err = readAllLimited(os.Stdin)
				} else {
					raw, err = os.ReadFile(*secretFile)
				}
				if err != nil {
					return fmt.Errorf("client secret: %w", err)
				}
				in.ClientSecret = strings.TrimSpace(string(raw))
			}
			in.Scopes, in.Domains, in.Clients = scopes, domains, clients
			for _, m := range maps {
				k, v, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("--map %q: use field=path", m)
				}
				if in.Mapping == nil {
					in.Mapping = map[string]string{}
				}
				in.Mapping[k] = v
			}
			if *disabled {
				f := false
				in.Enabled = &f
			}
			c, err := app.Connections.Create(ctx, cliActor(), t.ID, in)
			if err != nil {
				return err
			}
			v := connectionView(app, t.Slug, c)
			if *asJSON {
				return json.NewEncoder(env.stdout).Encode(v)
			}
			fmt.Fprintf(env.stdout, "id: %s\ncallback_url: %s\n", c.ID, v.CallbackURL)
			return nil
		})
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			t, err := resolve(app)
			if err != nil {
				return err
			}
			cs, err := app.Connections.List(ctx, t.ID, store.Page{Limit: 1000})
			if err != nil {
				return err
			}
			out := make([]connectionJSON, len(cs))
			for i := range cs {
				out[i] = connectionView(app, t.Slug, &cs[i])
			}
			if *asJSON {
				return printJSON(env, out)
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTYPE\tENABLED\tCALLBACK_URL")
			for _, c := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", c.ID, c.Name, c.Type, c.Enabled, c.CallbackURL)
			}
			return tw.Flush()
		})
	case "sync":
		full := fs.Bool("full", true, "a full sync (false: only entries changed in the last --since)")
		since := fs.Duration("since", 24*time.Hour, "with --full=false, how far back changes are read")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			t, c, err := connectionArg(ctx, app, fs, resolve)
			if err != nil {
				return err
			}
			from := time.Time{}
			if !*full {
				from = time.Now().Add(-*since)
			}
			res, err := app.Legacy.Sync(ctx, t.ID, c.ID, from)
			if err != nil {
				return fmt.Errorf("connection %s: %w", c.Name, err)
			}
			return json.NewEncoder(env.stdout).Encode(res)
		})
	case "delete":
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			t, c, err := connectionArg(ctx, app, fs, resolve)
			if err != nil {
				return err
			}
			ref := fs.Arg(0)
			if err := app.Connections.Delete(ctx, cliActor(), t.ID, c.ID); err != nil {
				return fmt.Errorf("connection %s: %w", ref, err)
			}
			fmt.Fprintf(env.stdout, "deleted %s\n", c.Name)
			return nil
		})
	}
	fmt.Fprintf(env.stderr, "gatehouse connection: unknown subcommand %q\n", args[0])
	return errUsage
}

// connectionArg resolves --tenant and the one argument, a connection's
// name or id.
func connectionArg(ctx context.Context, app *server.App, fs *flag.FlagSet, resolve func(*server.App) (*store.Tenant, error)) (*store.Tenant, *store.Connection, error) {
	if fs.NArg() != 1 {
		return nil, nil, fmt.Errorf("give the connection's name or id")
	}
	t, err := resolve(app)
	if err != nil {
		return nil, nil, err
	}
	ref := fs.Arg(0)
	c, err := app.Connections.ByName(ctx, t.ID, ref)
	if err != nil {
		if c, err = app.Connections.Get(ctx, t.ID, ref); err != nil {
			return nil, nil, fmt.Errorf("connection %s: %w", ref, err)
		}
	}
	return t, c, nil
}

// legacyFlags are the settings of a legacy user store.
func legacyFlags(fs *flag.FlagSet, l *connection.Legacy) {
	fs.StringVar(&l.Mode, "mode", "", "legacy stores: migrate (default) or federate")
	fs.StringVar(&l.MigrateUntil, "migrate-until", "", "legacy stores: the date (YYYY-MM-DD, UTC) the migration path closes")
	fs.StringVar(&l.URL, "url", "", "legacy_ldap: ldaps://host[:port] or ldap://host[:port]")
	fs.BoolVar(&l.StartTLS, "start-tls", false, "legacy_ldap: StartTLS on an ldap:// URL")
	fs.StringVar(&l.BindDN, "bind-dn", "", "legacy_ldap: the DN that searches (password: --client-secret-file)")
	fs.StringVar(&l.BaseDN, "base-dn", "", "legacy_ldap: where users are searched")
	fs.StringVar(&l.UserFilter, "user-filter", "", "legacy_ldap: search filter with {username}")
	fs.StringVar(&l.GroupBaseDN, "group-base-dn", "", "legacy_ldap, federating: where the mirrored groups are")
	fs.StringVar(&l.SyncInterval, "sync-interval", "", "legacy_ldap, federating: how often to sync (default 15m)")
	fs.StringVar(&l.Endpoint, "endpoint", "", "legacy_http: the URL the signed POST goes to")
}

// readAllLimited reads a secret of at most 64 KiB.
func readAllLimited(f *os.File) ([]byte, error) {
	buf := make([]byte, 64<<10+1)
	n, err := f.Read(buf)
	if n > 64<<10 {
		return nil, fmt.Errorf("longer than 64 KiB")
	}
	if err != nil && n == 0 {
		return nil, err
	}
	return buf[:n], nil
}

// Registered here rather than in main.go's table so that table keeps its
// alignment.
func init() {
	commands["connection"] = command{"create, list, sync and delete upstream identity providers and legacy user stores", runConnection}
}
