package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// runTenantExport writes one tenant, every row of it, as a JSON-lines file:
// the unit of backup and of moving a tenant (docs/tenant-lifecycle.md).
func runTenantExport(ctx context.Context, env *cliEnv, fs *flag.FlagSet, l *config.Loader, args []string) error {
	tenant := fs.String("tenant", "", "tenant slug or id")
	output := fs.String("output", "", "write to this file (created, mode 0600) instead of standard output")
	return withApp(ctx, env, fs, l, args, func(app *server.App) error {
		tid, err := tenantFlag(ctx, app, *tenant)
		if err != nil {
			return err
		}
		out, closeOut, err := outputTo(env, *output)
		if err != nil {
			return err
		}
		defer closeOut()
		n, err := app.Tenants.ExportTenant(ctx, cliActor(), tid, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "exported %d rows\n", n)
		return nil
	})
}

// runTenantImport creates a tenant from an export file.
func runTenantImport(ctx context.Context, env *cliEnv, fs *flag.FlagSet, l *config.Loader, args []string) error {
	input := fs.String("input", "", "the export file to read (- for standard input)")
	return withApp(ctx, env, fs, l, args, func(app *server.App) error {
		var in io.Reader = os.Stdin
		switch *input {
		case "":
			return fmt.Errorf("give --input FILE (or --input - for standard input)")
		case "-":
		default:
			f, err := os.Open(*input)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		t, n, err := app.Tenants.ImportTenant(ctx, cliActor(), in)
		if errors.Is(err, tenancy.ErrKeyMismatch) {
			return &exitError{code: 1, msg: err.Error()}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s\t%s\n", t.ID, t.Slug)
		fmt.Fprintf(env.stderr, "imported %d rows\n", n)
		return nil
	})
}

// outputTo answers standard output, or the file name created new with mode
// 0600 (exports hold secrets: never an existing file, never world-readable),
// and the function that closes it.
func outputTo(env *cliEnv, name string) (io.Writer, func(), error) {
	if name == "" {
		return env.stdout, func() {}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
