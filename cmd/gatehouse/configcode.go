package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse-id/gatehouse/internal/configcode"
	"github.com/gatehouse-id/gatehouse/internal/server"
)

const configUsage = `Usage:
  gatehouse config plan   -f FILE|DIR [-f ...] [--prune] [--json]
  gatehouse config apply  -f FILE|DIR [-f ...] [--prune] [--json] [--source COMMIT]
  gatehouse config export --tenant SLUG [-o DIR]
plan exits 0 when nothing would change, 2 when something would, 1 on error.`

// runConfig is configuration as code. Its exit codes follow plan's
// contract (2 means changes), so a usage error exits 1 here.
func runConfig(ctx context.Context, env *cliEnv, args []string) error {
	err := configCommand(ctx, env, args)
	if errors.Is(err, errUsage) {
		return &exitError{code: 1}
	}
	var ce *configcode.Error
	if errors.As(err, &ce) {
		return &exitError{code: 1, msg: ce.Error()}
	}
	return err
}

func configCommand(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, configUsage)
		return errUsage
	}
	fs, l := flagSet(env, "config "+args[0])
	switch args[0] {
	case "plan", "apply":
		var files listFlag
		fs.Var(&files, "f", "a configuration file or directory (repeatable)")
		prune := fs.Bool("prune", false, "delete the objects of declared kinds that the files do not declare")
		asJSON := fs.Bool("json", false, "print the plan as JSON")
		source := fs.String("source", "", "the configuration's source, such as its git commit, for the audit log (apply)")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if len(files) == 0 {
				fmt.Fprintln(env.stderr, "gatehouse config: give -f FILE or -f DIR")
				return errUsage
			}
			cfg, err := configcode.LoadPaths(files)
			if err != nil {
				return err
			}
			opt := configcode.Options{Prune: *prune, Actor: configcode.ApplyActor(*source, ""),
				Resolver: configcode.Resolver{LookupEnv: env.lookupEnv, ReadFile: os.ReadFile}}
			run := configcode.MakePlan
			if args[0] == "apply" {
				run = configcode.Apply
			}
			plan, err := run(ctx, app.ConfigCode(), cfg, opt)
			if err != nil {
				return err
			}
			if *asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(plan)
			} else {
				err = plan.Write(env.stdout)
			}
			if err != nil {
				return err
			}
			if args[0] == "plan" && !plan.Empty() {
				return &exitError{code: 2}
			}
			return nil
		})
	case "export":
		tenant := fs.String("tenant", "", "the tenant's slug")
		out := fs.String("o", "", "write DIR/<tenant>.yaml instead of standard output")
		return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
			if *tenant == "" {
				fmt.Fprintln(env.stderr, "gatehouse config export: give --tenant SLUG")
				return errUsage
			}
			b, err := configcode.Export(ctx, app.ConfigCode(), *tenant)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", *tenant, err)
			}
			if *out == "" {
				_, err = env.stdout.Write(b)
				return err
			}
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(*out, filepath.Base(*tenant)+".yaml"), b, 0o644)
		})
	}
	fmt.Fprintf(env.stderr, "gatehouse config: unknown subcommand %q\n", args[0])
	fmt.Fprintln(env.stderr, configUsage)
	return errUsage
}
