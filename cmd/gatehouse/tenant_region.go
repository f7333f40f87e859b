package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// runTenantMove moves a tenant to another region (docs/regions.md): it
// opens the target region's database and the one the catalogue places the
// tenant in, and runs tenancy.MoveTenant between them.
func runTenantMove(ctx context.Context, env *cliEnv, fs *flag.FlagSet, l *config.Loader, args []string) error {
	ref := fs.String("tenant", "", "tenant slug or id")
	to := fs.String("to", "", "the region to move it to, one of GATEHOUSE_REGIONS")
	settle := fs.Duration("settle", 3*time.Second, "how long the tenant is read-only before the copy starts, so every node sees it (at least the nodes' 2-second tenant cache)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := l.Load(env.lookupEnv)
	if err != nil {
		return err
	}
	switch {
	case *ref == "" || *to == "":
		fmt.Fprintln(env.stderr, "gatehouse tenant move: give --tenant T and --to REGION")
		return errUsage
	case !cfg.RegionsOn():
		return errors.New("moving a tenant needs GATEHOUSE_REGIONS (and GATEHOUSE_DB, the catalogue)")
	case !cfg.HasRegion(*to):
		return fmt.Errorf("region %q is not one of GATEHOUSE_REGIONS %v", *to, cfg.RegionNames())
	}
	if cfg.Region == "" {
		cfg.Region = *to // only to pass the regions check; each side sets its own
	}
	dst, err := openConfig(ctx, env, cfg.WithRegion(*to))
	if err != nil {
		return err
	}
	defer dst.Close()
	entry, err := dst.Tenants.RegionOf(ctx, *ref)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tenant %q is not in the catalogue", *ref)
	}
	if err != nil {
		return err
	}
	if entry.Region == *to {
		return &exitError{code: 1, msg: fmt.Sprintf("tenant %s is in region %s already", entry.Slug, *to)}
	}
	src, err := openConfig(ctx, env, cfg.WithRegion(entry.Region))
	if err != nil {
		return err
	}
	defer src.Close()
	fmt.Fprintf(env.stderr, "moving %s from %s to %s: read-only from now\n", entry.Slug, entry.Region, *to)
	res, err := moveBetween(ctx, src, dst, string(entry.ID), *settle)
	if err != nil {
		return err
	}
	rows := 0
	for _, n := range res.Rows {
		rows += n
	}
	fmt.Fprintf(env.stdout, "moved %s (%s) from %s to %s: %d rows in %d tables, audit chain of %d entries intact, read-only for %s\n",
		res.Slug, res.Tenant, res.From, res.To, rows, len(res.Rows), res.AuditEntries, res.Window.Round(time.Millisecond))
	return nil
}

func moveBetween(ctx context.Context, src, dst *server.App, id string, settle time.Duration) (*tenancy.MoveResult, error) {
	return tenancy.MoveTenant(ctx, cliActor(), src.Tenants, dst.Tenants, id, settle)
}
