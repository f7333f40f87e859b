package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

func runTenant(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "Usage: gatehouse tenant create|list|export|import|move [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "tenant "+args[0])
	switch args[0] {
	case "create":
		slug := fs.String("slug", "", "the tenant's slug (3-40 lowercase letters, digits, dashes)")
		name := fs.String("name", "", "the tenant's display name")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			t, err := app.Tenants.CreateTenant(ctx, cliActor(), tenancy.NewTenant{Slug: *slug, Name: *name})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s\t%s\n", t.ID, t.Slug)
			return nil
		})
	case "list":
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSLUG\tNAME")
			p := store.Page{Limit: 1000}
			for {
				ts, err := app.Tenants.ListTenants(ctx, p)
				if err != nil {
					return err
				}
				for _, t := range ts {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Slug, t.Name)
				}
				if len(ts) < p.Limit {
					return tw.Flush()
				}
				p.After = string(ts[len(ts)-1].ID)
			}
		})
	case "export":
		return runTenantExport(ctx, env, fs, l, args[1:])
	case "import":
		return runTenantImport(ctx, env, fs, l, args[1:])
	case "move":
		return runTenantMove(ctx, env, fs, l, args[1:]) // tenant_region.go
	}
	fmt.Fprintf(env.stderr, "gatehouse tenant: unknown subcommand %q\n", args[0])
	return errUsage
}

func runAudit(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(env.stderr, "Usage: gatehouse audit verify --tenant SLUG | --platform")
		return errUsage
	}
	fs, l := flagSet(env, "audit verify")
	var who scopeFlags
	who.register(fs)
	return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
		tenant, err := who.resolve(ctx, app)
		if err != nil {
			return err
		}
		res, err := events.Verify(ctx, app.DB.Audit(), tenant)
		if err != nil {
			return err
		}
		switch {
		case !res.Intact && res.BrokenID == "": // entries missing or added at the end
			return &exitError{code: 1, msg: "audit chain BROKEN: " + res.Reason}
		case !res.Intact:
			return &exitError{code: 1, msg: fmt.Sprintf(
				"audit chain BROKEN at entry seq=%d id=%s: %s (%d entries before it verified)",
				res.BrokenSeq, res.BrokenID, res.Reason, res.Entries)}
		}
		fmt.Fprintf(env.stdout, "audit chain intact: %d entries verified\n", res.Entries)
		return nil
	})
}
