// Command load is Gatehouse's load generator. It drives a running server
// on 127.0.0.1 — and nothing else — through named scenarios, each bounded
// in time and in count, and reports per scenario the throughput, the
// p50/p90/p99 latency, the errors and, given the server's -pid, its CPU
// seconds and peak RSS from /proc.
//
//	go run ./bench/load -scenario baseline,client_credentials,baseline \
//	    -duration 20s -concurrency 8 -max-requests 100000 -pid $(pidof gatehouse)
//
// Scenarios: baseline (an empty handler the tool serves itself: the floor
// of the generator and Go's HTTP stack), client_credentials, auth_code
// (the whole authorization-code + PKCE flow with a password login, one
// iteration per flow), refresh, introspection and userinfo (on tokens
// each worker got from one flow in the setup), signup (the hosted form),
// jwks and discovery; and, against Ory Kratos's public port, kratos_login
// and kratos_registration (its API flows). Give a list to alternate them
// with the baseline in one run: each scenario is then also reported as a
// ratio to the baselines run next to it. bench/run.sh does all of it
// against a fresh server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// maxScenarios bounds the list, so a whole invocation is bounded too.
const maxScenarios = 24

// options are the command's flags.
type options struct {
	scenarios          []string
	cfg                Config
	warmup             time.Duration
	pid                int
	json               bool
	limits             string
	baseURL, tenant    string
	ccID, acID         string
	ccSecret, acSecret string
	user, password     string
	totpUser           string
	totpUsers          int
	redirectURI        string
	scimToken          string
	tokenURL           string
	report             string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenario", "baseline", "comma-separated scenarios, run in order: baseline, mixed, client_credentials, client_credentials_dpop, auth_code, auth_code_totp, refresh, refresh_es256, refresh_no_id_token, introspection, userinfo, signup, jwks, discovery, kratos_login, kratos_registration")
	fs.DurationVar(&o.cfg.Duration, "duration", 20*time.Second, "how long each scenario starts iterations (capped at 5m)")
	fs.IntVar(&o.cfg.MaxRequests, "max-requests", maxRequests, "most iterations per scenario (capped at 1,000,000)")
	fs.IntVar(&o.cfg.Concurrency, "concurrency", 8, "workers, each with one iteration in flight (capped at 256)")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 10*time.Second, "most time one iteration may take (capped at 1m)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unrecorded load before each scenario (capped at 30s)")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, to read its CPU time and peak RSS from /proc")
	fs.BoolVar(&o.json, "json", false, "print a JSON line per scenario on stdout (the table goes to stderr)")
	fs.StringVar(&o.limits, "limits", "", "a file of 'go test -bench . ./bench/' output: report scenarios as a fraction of their limit")
	fs.StringVar(&o.report, "report", "", "load nothing: read the JSON lines of an earlier -json run from this file and report them again (with -limits, against those limits)")
	fs.StringVar(&o.baseURL, "base-url", "http://127.0.0.1:8080", "the server; only http://127.0.0.1[:port] is accepted")
	fs.StringVar(&o.tenant, "tenant", "default", "tenant slug")
	fs.StringVar(&o.tokenURL, "token-url", "", "client_credentials against another server's token endpoint (a peer's), http://127.0.0.1 only")
	fs.StringVar(&o.ccID, "cc-client-id", os.Getenv("BENCH_CC_CLIENT_ID"), "client_credentials client id (env BENCH_CC_CLIENT_ID)")
	fs.StringVar(&o.ccSecret, "cc-client-secret", "", "its secret (better: env BENCH_CC_CLIENT_SECRET)")
	fs.StringVar(&o.acID, "ac-client-id", os.Getenv("BENCH_AC_CLIENT_ID"), "authorization-code client id (env BENCH_AC_CLIENT_ID)")
	fs.StringVar(&o.acSecret, "ac-client-secret", "", "its secret (better: env BENCH_AC_CLIENT_SECRET)")
	fs.StringVar(&o.redirectURI, "redirect-uri", "http://127.0.0.1:9/cb", "the authorization-code client's redirect URI (never requested)")
	fs.StringVar(&o.user, "user", os.Getenv("BENCH_USER"), "who logs in: email or username (env BENCH_USER); a pattern with one %d stands for 4 users per worker, numbered from 0, each in one flow at a time")
	fs.StringVar(&o.password, "password", "", "their password (better: env BENCH_PASSWORD)")
	fs.StringVar(&o.scimToken, "scim-token", "", "mixed: an API key with the scim scope (better: env BENCH_SCIM_TOKEN)")
	fs.StringVar(&o.totpUser, "totp-user", os.Getenv("BENCH_TOTP_USER"), "auth_code_totp: pattern with one %d of the users who enrol a TOTP factor and log in with it (env BENCH_TOTP_USER; same password as -user)")
	fs.Float64Var(&o.cfg.Rate, "rate", 0, "iterations started per second at most, spread evenly (an open-loop pace; 0: as fast as the workers go)")
	fs.IntVar(&o.totpUsers, "totp-users", 0, "auth_code_totp: how many such users, numbered from 0 (default 96 per worker; capped at 10,000): one code per user per 30-s step")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// Secrets come from the environment unless given as flags, so they
	// stay out of ps and shell history.
	for _, s := range []struct {
		v   *string
		env string
	}{{&o.ccSecret, "BENCH_CC_CLIENT_SECRET"}, {&o.acSecret, "BENCH_AC_CLIENT_SECRET"}, {&o.password, "BENCH_PASSWORD"}, {&o.scimToken, "BENCH_SCIM_TOKEN"}} {
		if *s.v == "" {
			*s.v = os.Getenv(s.env)
		}
	}
	for _, n := range strings.Split(*scen, ",") {
		if n = strings.TrimSpace(n); n != "" {
			o.scenarios = append(o.scenarios, n)
		}
	}
	o.cfg = o.cfg.clamp()
	o.warmup = min(max(o.warmup, 0), maxWarmup)
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	var reports []report
	if o.report != "" {
		reports, err = reread(o)
	} else {
		reports, err = runAll(ctx, o, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	table := stdout
	if o.json {
		table = stderr
		enc := json.NewEncoder(stdout)
		for i := range reports {
			if err := enc.Encode(&reports[i]); err != nil {
				fmt.Fprintln(stderr, "load:", err)
				return 1
			}
		}
	}
	printTable(table, reports)
	for _, r := range reports {
		if r.Errors > 0 {
			fmt.Fprintf(stderr, "load: %s had %d errors; first: %s\n", r.Scenario, r.Errors, r.FirstError)
			return 3
		}
	}
	return 0
}

// runAll checks everything first, then runs the scenarios in order.
func runAll(ctx context.Context, o *options, progress io.Writer) ([]report, error) {
	if len(o.scenarios) == 0 || len(o.scenarios) > maxScenarios {
		return nil, fmt.Errorf("give 1 to %d scenarios, got %d", maxScenarios, len(o.scenarios))
	}
	base, err := checkTarget(o.baseURL)
	if err != nil {
		return nil, err
	}
	if o.tokenURL != "" {
		tu, err := checkTarget(o.tokenURL)
		if err != nil {
			return nil, err
		}
		o.tokenURL = tu.String()
	}
	t := &target{base: base, tokenURL: o.tokenURL, tenant: o.tenant, ccID: o.ccID, ccSecret: o.ccSecret, acID: o.acID, acSecret: o.acSecret,
		redirectURI: o.redirectURI, user: o.user, password: o.password, transport: newTransport(o.cfg.Concurrency),
		totpUser: o.totpUser, totpUsers: o.totpUsers, scimToken: o.scimToken,
		concurrency: o.cfg.Concurrency, span: o.warmup + o.cfg.Duration, maxRequests: o.cfg.MaxRequests}
	defer t.transport.CloseIdleConnections()
	for _, n := range o.scenarios {
		s, ok := scenarios[n]
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
		if s.needs != nil {
			if err := s.needs(t); err != nil {
				return nil, err
			}
		}
	}
	lim, err := readLimits(o.limits)
	if err != nil {
		return nil, err
	}
	if o.pid != 0 {
		if _, err := cpuTicks(o.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", o.pid, err)
		}
	}
	hz := clockTicks()
	var out []report
	for _, n := range o.scenarios {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fmt.Fprintf(progress, "load: %-18s %s at concurrency %d ...\n", n, o.cfg.Duration, o.cfg.Concurrency)
		r, err := runOne(ctx, scenarios[n], t, o, hz)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, r)
	}
	compare(out, lim)
	return out, nil
}

// readLimits reads the -limits file; none when path is "".
func readLimits(path string) (limits, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lim, err := parseLimits(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lim, nil
}

// reread is -report: the reports of an earlier run, compared again, so
// limits measured after the load (when the server no longer competes for
// the CPU) can count too.
func reread(o *options) ([]report, error) {
	lim, err := readLimits(o.limits)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(o.report)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []report
	dec := json.NewDecoder(f)
	for dec.More() {
		var r report
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s: %w", o.report, err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: no reports", o.report)
	}
	compare(rs, lim)
	return rs, nil
}

// runOne warms up, then measures one scenario.
func runOne(ctx context.Context, s scenario, t *target, o *options, hz int) (report, error) {
	op, stop, err := s.setup(t)
	if err != nil {
		return report{}, err
	}
	defer stop()
	if o.warmup > 0 {
		Run(ctx, Config{Duration: o.warmup, MaxRequests: o.cfg.MaxRequests, Concurrency: o.cfg.Concurrency, Timeout: o.cfg.Timeout}, op)
	}
	var srv *procWatch
	if !s.local {
		if srv, err = watch(o.pid, hz); err != nil {
			return report{}, err
		}
	}
	self, err := watch(os.Getpid(), hz)
	if err != nil {
		return report{}, err
	}
	res := Run(ctx, o.cfg, op)
	r := newReport(s, o.cfg, res)
	if c, err := self.stop(); err == nil {
		r.GeneratorCPUSeconds = c.CPUSeconds
	}
	if srv != nil {
		c, err := srv.stop()
		if err != nil {
			return report{}, fmt.Errorf("server -pid %d: %w", o.pid, err)
		}
		r.setServer(c)
	}
	return r, nil
}
