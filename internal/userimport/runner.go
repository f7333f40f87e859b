package userimport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrBusy: as many imports as the runner allows are running.
var ErrBusy = errors.New("too many imports running")

// Runner runs imports in the background (the API's asynchronous jobs), a
// bounded number at a time. Close stops them after their current batch.
type Runner struct {
	Importer *Importer
	slots    chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewRunner answers a Runner of im running at most max imports at once.
func NewRunner(im *Importer, max int) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{Importer: im, slots: make(chan struct{}, max), ctx: ctx, cancel: cancel}
}

// Start creates the job for the file at path (which the runner owns from
// now on and removes when done) and imports it in the background. The
// source is opened first so a file of the wrong shape is refused here,
// with the error of NewSource. ErrBusy when no slot is free.
func (r *Runner) Start(ctx context.Context, actor events.Actor, spec Spec, path, digest string, opts Options) (*store.ImportJob, error) {
	select {
	case r.slots <- struct{}{}:
	default:
		os.Remove(path)
		return nil, ErrBusy
	}
	release := func() { <-r.slots; os.Remove(path) }
	f, err := os.Open(path)
	if err != nil {
		release()
		return nil, err
	}
	src, err := NewSource(spec.Format, f, opts)
	if err != nil {
		f.Close()
		release()
		return nil, &SourceError{Err: err}
	}
	spec.Digest = digest
	job := &store.ImportJob{ID: uuid.Must(uuid.NewV7()).String(), Tenant: spec.Tenant, Format: spec.Format,
		Source: spec.Source, Digest: digest, OnConflict: spec.OnConflict, DryRun: spec.DryRun,
		Status: store.ImportRunning, Total: countRecords(path, spec.Format), CreatedAt: r.Importer.now()}
	if job.OnConflict == "" {
		job.OnConflict = OnConflictSkip
	}
	if err := r.Importer.Store.Imports().CreateImportJob(ctx, job); err != nil {
		f.Close()
		release()
		return nil, err
	}
	spec.JobID = job.ID
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer release()
		defer f.Close()
		_, _ = r.Importer.Run(r.ctx, actor, spec, src, nil)
	}()
	return job, nil
}

// SourceError is a file NewSource refused: its text is for the client.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return e.Err.Error() }

// Close stops the running imports after their current batch and waits.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// countRecords estimates a file's records for the progress figures:
// lines, less the header of a CSV; 0 for the one-document formats.
func countRecords(path, format string) int64 {
	if format == "keycloak" || format == "firebase" {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	br := bufio.NewReaderSize(f, 1<<16)
	buf := make([]byte, 1<<16)
	for {
		k, err := br.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0
		}
	}
	if format == "csv" || format == "cognito" {
		n--
	}
	return max(n, 0)
}

// Summary is how a tenant's users sign in with a password: the number of
// stored hashes per scheme (credential.Scheme) and of users without one.
type Summary struct {
	Formats         map[string]int64 `json:"formats"`
	WithoutPassword int64            `json:"without_password"`
}

// Summarize counts the tenant's password hashes by scheme.
func Summarize(ctx context.Context, hashes store.PasswordHashes, tenant store.TenantID) (*Summary, error) {
	s := &Summary{Formats: map[string]int64{}}
	err := hashes.ScanPasswordHashes(ctx, tenant, func(h string) error {
		if h == "" {
			s.WithoutPassword++
		} else {
			s.Formats[credential.Scheme(h)]++
		}
		return nil
	})
	return s, err
}
