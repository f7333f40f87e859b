package main

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs, l := flagSet(env, "serve")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: gatehouse serve [flags]\n\nRuns the server. Every flag has an environment variable and a config-file key.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	setMemoryLimit() // memlimit.go
	cfg, err := l.Load(env.lookupEnv)
	if err != nil {
		return err
	}
	// Listen first: the services are built with the public URL the
	// server is reached at (a port of 0 becomes the port bound).
	ln, cfg, err := server.Listen(cfg)
	if err != nil {
		return err
	}
	app, err := openConfig(ctx, env, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()
	if err := app.Bootstrap(ctx, env.stdout); err != nil {
		return err
	}
	return app.Serve(ctx, ln, nil)
}

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	fs, l := flagSet(env, "migrate")
	plan := fs.Bool("plan", false, "print the migrations that would run, and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := l.Load(env.lookupEnv)
	if err != nil {
		return err
	}
	if *plan {
		return migratePlan(ctx, env, cfg)
	}
	return migrate(ctx, env, cfg)
}

// migratePlan prints the database's version and each pending migration,
// one a line, without applying any.
func migratePlan(ctx context.Context, env *cliEnv, cfg config.Config) error {
	driver, dsn := cfg.DSN()
	pending, current, err := sqlstore.Plan(ctx, driver, dsn)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "database is at migration %d (%s); this binary expects %d\n", current, driver, sqlstore.SchemaVersion(driver))
	if len(pending) == 0 {
		fmt.Fprintln(env.stdout, "nothing to apply")
		return nil
	}
	for _, m := range pending {
		fmt.Fprintf(env.stdout, "would apply %s\n", m.Name)
	}
	return nil
}

// migrate opens the database, which applies every pending migration.
func migrate(ctx context.Context, env *cliEnv, cfg config.Config) error {
	driver, dsn := cfg.DSN()
	db, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	versions, err := db.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "database is at migration %d (%s)\n", versions[len(versions)-1], driver)
	// The data migrations that need the master key (the audit chain's
	// sealing of personal data) run when the deployment opens.
	app, err := openConfig(ctx, env, cfg)
	if err != nil {
		return err
	}
	return app.Close()
}
