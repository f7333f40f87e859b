// Command gatehouse is the Gatehouse identity server and its operator CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/server"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

var commands = map[string]command{
	"serve":   {"run the server", runServe},
	"migrate": {"apply database migrations and exit", runMigrate},
	"apikey":  {"create, list, expire and revoke management API keys", runAPIKey},
	"admin":   {"first run of the admin console: setup-link, create --email", runAdmin},
	"client":  {"create, list and delete OAuth / OpenID Connect clients", runClient},
	"saml":    {"register, list and delete SAML service providers (saml sp ...)", runSAML},
	"tenant":  {"create and list tenants", runTenant},
	"audit":   {"verify a tenant's audit chain", runAudit},
	"keys":    {"rotate and list a tenant's signing keys", runKeys},
	"usage":   {"export every tenant's usage of a month for billing", runUsage},
	"config":  {"plan, apply and export configuration as code", runConfig},
	"users":   {"import users in bulk (CSV, JSONL, Auth0, Keycloak, Firebase, Cognito) and export them", runUsers},
	"events":  {"print a tenant's events for a SIEM (events tail, json or cef)", runEvents},
}

// cliEnv is the process's outside world, injected so tests can drive it.
type cliEnv struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

// errUsage ends a command with exit status 2 after its message.
var errUsage = errors.New("usage")

// exitError carries a specific exit status (audit verify uses 1).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cliEnv{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "gatehouse: unknown command %q\n", args[0])
		usage(env.stderr)
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(env.stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(env.stderr, "gatehouse %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gatehouse <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'gatehouse <command> --help' for its flags.")
}

// flagSet makes a command's flags: its own plus every config setting, so
// each command reaches the same data dir or database as the server.
func flagSet(env *cliEnv, name string) (*flag.FlagSet, *config.Loader) {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs, config.RegisterFlags(fs)
}

// parse parses args; a flag error prints usage and becomes errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// open loads config, builds the logger and opens the deployment.
func open(ctx context.Context, env *cliEnv, l *config.Loader) (*server.App, error) {
	cfg, err := l.Load(env.lookupEnv)
	if err != nil {
		return nil, err
	}
	return openConfig(ctx, env, cfg)
}

// openConfig builds the logger and opens the deployment of cfg.
func openConfig(ctx context.Context, env *cliEnv, cfg config.Config) (*server.App, error) {
	log := newLogger(env.stderr, cfg)
	// Libraries that log through the slog default (the OpenID library
	// does) write the same JSON lines as ours.
	slog.SetDefault(log)
	return server.Open(ctx, cfg, log)
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
