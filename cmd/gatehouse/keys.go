package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/gatehouse-id/gatehouse/internal/server"
)

func runKeys(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintln(env.stderr, "Usage: gatehouse keys rotate|list --tenant SLUG")
		return errUsage
	}
	fs, l := flagSet(env, "keys "+args[0])
	tenant := fs.String("tenant", "", "tenant slug or id")
	return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
		if *tenant == "" {
			return fmt.Errorf("give --tenant SLUG")
		}
		t, err := app.Tenants.Resolve(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
		}
		if args[0] == "rotate" {
			if err := app.Tenants.RotateKeys(ctx, cliActor(), t.ID); err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, "rotated: the next keys now sign; the old ones stay published until their tokens expire")
			return nil
		}
		ks, err := app.DB.SigningKeys().ListSigningKeys(ctx, t.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tRETIRE_AT")
		for _, k := range ks {
			retire := ""
			if k.RetireAt != nil {
				retire = k.RetireAt.Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, k.Status, k.CreatedAt.Format("2006-01-02T15:04:05Z"), retire)
		}
		return tw.Flush()
	})
}
