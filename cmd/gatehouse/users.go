package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
)

func runUsers(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" && args[0] != "export" {
		fmt.Fprintln(env.stderr, "Usage: gatehouse users import --tenant T --format "+strings.Join(userimport.Formats, "|")+
			" FILE [--dry-run] [--resume] [--on-conflict skip|update|fail]\n       gatehouse users export --tenant T --format jsonl|csv [--include-hashes] [--output FILE]")
		return errUsage
	}
	if args[0] == "export" {
		return runUsersExport(ctx, env, args[1:])
	}
	return runUsersImport(ctx, env, args[1:])
}

// parseInterleaved parses flags that may come after positional arguments
// ("import --format csv FILE --dry-run") and answers the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for range len(args) + 1 {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	return pos, nil
}

func runUsersImport(ctx context.Context, env *cliEnv, args []string) error {
	fs, l := flagSet(env, "users import")
	tenant := fs.String("tenant", "", "tenant slug or id")
	format := fs.String("format", "", "source format: "+strings.Join(userimport.Formats, ", "))
	dry := fs.Bool("dry-run", false, "check every record and report, writing nothing")
	resume := fs.Bool("resume", false, "continue an interrupted import of the same file after its last committed batch")
	conflict := fs.String("on-conflict", userimport.OnConflictSkip, "an existing user: skip, update or fail")
	batch := fs.Int("batch", userimport.DefaultBatch, "records per transaction")
	var fb userimport.FirebaseParams
	fs.StringVar(&fb.SignerKey, "firebase-signer-key", "", "Firebase: the project's base64_signer_key")
	fs.StringVar(&fb.SaltSeparator, "firebase-salt-separator", "", "Firebase: the project's base64_salt_separator")
	fs.IntVar(&fb.Rounds, "firebase-rounds", 8, "Firebase: the project's rounds")
	fs.IntVar(&fb.MemCost, "firebase-mem-cost", 14, "Firebase: the project's mem_cost")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *format == "" {
		fmt.Fprintln(env.stderr, "gatehouse users import: give --format and exactly one FILE")
		return errUsage
	}
	file := pos[0]
	digest, lines, err := digestFile(file)
	if err != nil {
		return err
	}
	app, err := open(ctx, env, l)
	if err != nil {
		return err
	}
	defer app.Close()
	tid, err := tenantFlag(ctx, app, *tenant)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	src, err := userimport.NewSource(*format, f, userimport.Options{Firebase: fb})
	if err != nil {
		return err
	}
	im := *app.Importer
	im.Batch = *batch
	total := lines
	if *format == "csv" || *format == "cognito" {
		total-- // the header
	}
	if *format == "keycloak" || *format == "firebase" {
		total = 0 // one document: unknown until read
	}
	p := newProgress(env.stderr, total)
	job, err := im.Run(ctx, cliActor(), userimport.Spec{Tenant: tid, Format: *format, Source: file, Digest: digest,
		OnConflict: *conflict, DryRun: *dry, Resume: *resume}, src, p.update)
	p.done()
	if job != nil {
		printJob(env, job)
	}
	switch {
	case errors.Is(err, userimport.ErrInterrupted):
		fmt.Fprintf(env.stderr, "Stopped after record %d (committed). To continue:\n  gatehouse users import --tenant %s --format %s %s --resume\n",
			job.Checkpoint, *tenant, *format, file)
		return &exitError{code: 130, msg: "interrupted"}
	case err != nil:
		return err
	case job.Failed > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%d records rejected", job.Failed)}
	}
	return nil
}

func printJob(env *cliEnv, j *store.ImportJob) {
	prefix := ""
	if j.DryRun {
		prefix = "dry run: "
	}
	fmt.Fprintf(env.stdout, "%simport %s: %s; created %d, updated %d, skipped %d, rejected %d\n",
		prefix, j.ID, j.Status, j.Created, j.Updated, j.Skipped, j.Failed)
	for i, e := range j.Errors {
		if i == 20 {
			fmt.Fprintf(env.stdout, "  ... %d more (GET /api/v1/tenants/{t}/imports/%s)\n", len(j.Errors)-i, j.ID)
			break
		}
		fmt.Fprintf(env.stdout, "  line %d: %s\n", e.Line, e.Error)
	}
}

// digestFile answers the SHA-256 of the file (how --resume finds its job)
// and its number of lines (the progress bar's total).
func digestFile(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	var lines int64
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), lines, nil
}

// progress draws a bar on a terminal and plain lines every few seconds
// elsewhere: records done, rate, ETA when the total is known, rejects.
type progress struct {
	w        io.Writer
	tty      bool
	total    int64
	start    time.Time
	last     time.Time
	from     int64 // checkpoint of the first update (a resumed run)
	started  bool
	finished bool
}

func newProgress(w io.Writer, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) update(j *store.ImportJob) {
	now := time.Now()
	if !p.started {
		p.started, p.from = true, 0
	}
	if !p.tty && now.Sub(p.last) < 5*time.Second {
		return
	}
	p.last = now
	done := j.Checkpoint
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(done-p.from) / max(elapsed, 0.001)
	line := fmt.Sprintf("%d records, %.0f/s, %d rejected", done, rate, j.Failed)
	if p.total > 0 {
		pct := min(100, float64(done)*100/float64(p.total))
		eta := time.Duration(float64(max(p.total-done, 0))/max(rate, 1)) * time.Second
		line = fmt.Sprintf("%5.1f%% %s, ETA %s", pct, line, eta.Round(time.Second))
		if p.tty {
			const width = 30
			n := int(pct / 100 * width)
			line = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] " + line
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, "import:", line)
	}
}

func (p *progress) done() {
	if p.tty && p.started && !p.finished {
		fmt.Fprintln(p.w)
	}
	p.finished = true
}

func runUsersExport(ctx context.Context, env *cliEnv, args []string) error {
	fs, l := flagSet(env, "users export")
	tenant := fs.String("tenant", "", "tenant slug or id")
	format := fs.String("format", "jsonl", "jsonl or csv")
	hashes := fs.Bool("include-hashes", false, "include password hashes (audited)")
	output := fs.String("output", "", "write to this file (created, mode 0600) instead of standard output")
	return withApp(ctx, env, fs, l, args, func(app *server.App) error {
		tid, err := tenantFlag(ctx, app, *tenant)
		if err != nil {
			return err
		}
		out := env.stdout
		if *output != "" {
			f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			out = f
		}
		n, err := app.Exporter.Export(ctx, cliActor(), tid, *format, *hashes, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "exported %d users\n", n)
		return nil
	})
}
