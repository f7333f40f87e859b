package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/server"
)

// runAdmin: the admin console's first run from the command line.
//
//	gatehouse admin setup-link        a new one-time setup link (no administrator yet)
//	gatehouse admin create --email E  a platform administrator, and the link to set a password
func runAdmin(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: gatehouse admin setup-link|create --email EMAIL [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "admin "+args[0])
	switch args[0] {
	case "setup-link":
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if err := prepareAdmin(ctx, app); err != nil {
				return err
			}
			link, err := app.Setup.SetupLink(ctx)
			if err != nil {
				return err
			}
			if link == "" {
				return errors.New("a platform administrator exists already: sign in at /admin, or add one with gatehouse admin create --email EMAIL")
			}
			fmt.Fprintf(env.stdout, "Create the first administrator (link valid for one hour, single use):\n  %s\n", link)
			return nil
		})
	case "create":
		email := fs.String("email", "", "the administrator's email address")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if *email == "" {
				return errors.New("give --email EMAIL")
			}
			if err := prepareAdmin(ctx, app); err != nil {
				return err
			}
			inv, err := app.Setup.CreateAdmin(ctx, cliActor(), *email)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "Platform administrator %s (user %s) of tenant %s.\nSet the password (link valid until %s, single use):\n  %s\n",
				inv.Email, inv.UserID, app.Setup.AdminSlug(), inv.ExpiresAt.Format("2006-01-02 15:04 MST"), inv.Link)
			return nil
		})
	}
	fmt.Fprintln(env.stderr, "Usage: gatehouse admin setup-link|create --email EMAIL [flags]")
	return errUsage
}

// prepareAdmin makes sure the default tenant (a fresh deployment's admin
// tenant) and every tenant's built-in roles exist, as serve would.
func prepareAdmin(ctx context.Context, app *server.App) error {
	if _, _, err := app.Tenants.EnsureDefault(ctx); err != nil {
		return err
	}
	if _, err := app.Setup.AdminTenantRecord(ctx); err != nil {
		return fmt.Errorf("admin tenant %q: %w (create it first, or set admin_tenant)", app.Setup.AdminSlug(), err)
	}
	return app.Setup.EnsureBuiltinRoles(ctx)
}
