package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// cliActor is who the audit log records for CLI writes.
func cliActor() events.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return events.Actor{Type: "cli", ID: name}
}

// scopeFlags are the --tenant/--platform pair that names whose keys.
type scopeFlags struct {
	tenant   string
	platform bool
}

func (s *scopeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.tenant, "tenant", "", "tenant slug or id")
	fs.BoolVar(&s.platform, "platform", false, "a platform key, for every tenant")
}

func (s *scopeFlags) resolve(ctx context.Context, app *server.App) (store.TenantID, error) {
	switch {
	case s.platform && s.tenant != "":
		return "", fmt.Errorf("give --tenant or --platform, not both")
	case s.platform:
		return store.PlatformTenant, nil
	case s.tenant == "":
		return "", fmt.Errorf("give --tenant SLUG or --platform")
	}
	t, err := app.Tenants.Resolve(ctx, s.tenant)
	if err != nil {
		return "", fmt.Errorf("tenant %q: %w", s.tenant, err)
	}
	return t.ID, nil
}

func runAPIKey(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: gatehouse apikey create|list|expire|revoke [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "apikey "+args[0])
	var who scopeFlags
	who.register(fs)
	switch args[0] {
	case "create":
		scopes := fs.String("scopes", "admin", "comma-separated scopes: admin, read, scim, audit:read, ssf")
		name := fs.String("name", "", "a name to recognise the key by")
		expiresIn := fs.Duration("expires-in", 0, "lifetime, e.g. 720h (0: no expiry)")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			tenant, err := who.resolve(ctx, app)
			if err != nil {
				return err
			}
			in := tenancy.NewAPIKey{Name: *name, Scopes: tenancy.ParseScopes(*scopes)}
			if *expiresIn > 0 {
				at := time.Now().Add(*expiresIn)
				in.ExpiresAt = &at
			}
			k, token, err := app.Tenants.CreateAPIKey(ctx, cliActor(), tenant, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stderr, "Created API key %s (scopes %s). The token below is shown once.\n",
				k.ID, strings.Join(k.Scopes, ","))
			fmt.Fprintln(env.stdout, token)
			return nil
		})
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			tenant, err := who.resolve(ctx, app)
			if err != nil {
				return err
			}
			ks, err := app.Tenants.ListAPIKeys(ctx, tenant)
			if err != nil {
				return err
			}
			return printKeys(env, ks, *asJSON)
		})
	case "expire", "revoke":
		at := fs.String("at", "", "with expire: when the key stops working, RFC 3339 (default now)")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if fs.NArg() != 1 {
				return fmt.Errorf("give the key id")
			}
			tenant, err := who.resolve(ctx, app)
			if err != nil {
				return err
			}
			id := fs.Arg(0)
			if args[0] == "revoke" {
				_, err = app.Tenants.RevokeAPIKey(ctx, cliActor(), tenant, id)
			} else {
				var when *time.Time
				if *at != "" {
					t, perr := time.Parse(time.RFC3339, *at)
					if perr != nil {
						return fmt.Errorf("--at: %v", perr)
					}
					when = &t
				}
				_, err = app.Tenants.ExpireAPIKey(ctx, cliActor(), tenant, id, when)
			}
			if err != nil {
				return fmt.Errorf("key %s: %w", id, err)
			}
			fmt.Fprintf(env.stdout, "%sd %s\n", args[0], id)
			return nil
		})
	}
	fmt.Fprintf(env.stderr, "gatehouse apikey: unknown subcommand %q\n", args[0])
	return errUsage
}

func printKeys(env *cliEnv, ks []store.APIKey, asJSON bool) error {
	if asJSON {
		type out struct {
			ID        string     `json:"id"`
			Name      string     `json:"name"`
			Scopes    []string   `json:"scopes"`
			Hint      string     `json:"hint"`
			CreatedAt time.Time  `json:"created_at"`
			ExpiresAt *time.Time `json:"expires_at,omitempty"`
			RevokedAt *time.Time `json:"revoked_at,omitempty"`
		}
		list := make([]out, len(ks))
		for i, k := range ks {
			list[i] = out{k.ID, k.Name, k.Scopes, k.Hint, k.CreatedAt, k.ExpiresAt, k.RevokedAt}
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tHINT\tSTATE")
	now := time.Now()
	for _, k := range ks {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case !k.Active(now):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.Hint, state)
	}
	return tw.Flush()
}

// withApp parses args, opens the deployment, runs fn and closes it.
func withApp(ctx context.Context, env *cliEnv, fs *flag.FlagSet, l *config.Loader, args []string, fn func(*server.App) error) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	app, err := open(ctx, env, l)
	if err != nil {
		return err
	}
	defer app.Close()
	return fn(app)
}
