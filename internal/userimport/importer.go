package userimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Conflict policies: what an import does with a record whose user exists
// (same external id, or same email or username).
const (
	OnConflictSkip   = "skip"
	OnConflictUpdate = "update"
	OnConflictFail   = "fail"
)

// DefaultBatch is how many records one transaction commits.
const DefaultBatch = 1000

// maxErrors bounds the rejected records a job keeps for its report; the
// Failed count goes on past it.
const maxErrors = 10_000

// ErrInterrupted ends a run whose context was cancelled: the last batch
// was committed and the job is resumable.
var ErrInterrupted = errors.New("import interrupted after a committed batch")

// ErrNothingToResume: --resume found no unfinished job for this file.
var ErrNothingToResume = errors.New("no unfinished import of this file to resume")

// Importer writes records into a tenant.
type Importer struct {
	Store store.Store
	// MFA seals imported TOTP seeds; nil rejects records that carry one.
	MFA   *mfa.Service
	Audit *events.Recorder
	Now   func() time.Time
	// Batch is the number of records per transaction (DefaultBatch when 0).
	Batch int
}

// Spec says what to import where.
type Spec struct {
	Tenant     store.TenantID
	Format     string
	Source     string // the file's name, for the operator
	Digest     string // SHA-256 hex of the file's content
	OnConflict string
	DryRun     bool
	// Resume continues the newest unfinished job of this tenant and
	// digest after its checkpoint.
	Resume bool
	// JobID, when set, names the job the caller created (the API's
	// asynchronous imports); a dry run then keeps its report there.
	JobID string
}

// persisted reports whether the job has a row: always but for a dry run
// from the CLI, which leaves no trace.
func (s Spec) persisted() bool { return !s.DryRun || s.JobID != "" }

// Run reads src to its end and writes it in batches, calling progress
// after each. It answers the job as it ended; with ErrInterrupted when ctx
// was cancelled (the batch in progress is committed first), or another
// error when the import failed as a whole (the job says why).
func (im *Importer) Run(ctx context.Context, actor events.Actor, spec Spec, src Source, progress func(*store.ImportJob)) (*store.ImportJob, error) {
	switch spec.OnConflict {
	case "":
		spec.OnConflict = OnConflictSkip
	case OnConflictSkip, OnConflictUpdate, OnConflictFail:
	default:
		return nil, fmt.Errorf("on-conflict must be skip, update or fail, not %q", spec.OnConflict)
	}
	job, err := im.startJob(ctx, spec)
	if err != nil {
		return nil, err
	}
	// Records before the checkpoint were committed by an earlier run.
	for i := int64(0); i < job.Checkpoint; i++ {
		if _, err := src.Next(); err != nil && !isRecordErr(err) {
			return im.fail(ctx, spec, job, fmt.Errorf("skipping to the checkpoint: %w", err))
		}
	}
	w := newWriter(im, spec)
	size := im.Batch
	if size <= 0 {
		size = DefaultBatch
	}
	for {
		if ctx.Err() != nil {
			return im.stop(spec, job)
		}
		batch, read, rerrs, eof, err := readBatch(src, size)
		if err != nil {
			return im.fail(ctx, spec, job, err)
		}
		if read > 0 {
			res, err := w.write(context.WithoutCancel(ctx), job, batch, rerrs, read)
			if err != nil {
				return im.fail(ctx, spec, job, err)
			}
			job = res
			if progress != nil {
				progress(job)
			}
		}
		if eof {
			break
		}
	}
	job.Status = store.ImportFinished
	if spec.persisted() {
		if err := im.Store.InTx(ctx, func(tx store.Repos) error {
			if _, err := tx.Imports().UpdateImportJob(ctx, job.Tenant, job.ID, func(j *store.ImportJob) error {
				j.Status = store.ImportFinished
				return nil
			}); err != nil {
				return err
			}
			return im.audit(ctx, tx, actor, job)
		}); err != nil {
			return job, err
		}
	}
	return job, nil
}

func (im *Importer) audit(ctx context.Context, tx store.Repos, actor events.Actor, j *store.ImportJob) error {
	if im.Audit == nil {
		return nil
	}
	return im.Audit.Record(ctx, tx, actor, events.Entry{Tenant: j.Tenant, Action: "users.import",
		TargetType: "import", TargetID: j.ID, Changes: events.Changes{
			"format": {After: j.Format}, "dry_run": {After: j.DryRun},
			"created": {After: j.Created}, "updated": {After: j.Updated},
			"skipped": {After: j.Skipped}, "failed": {After: j.Failed},
		}})
}

func isRecordErr(err error) bool {
	var re *RecordError
	return errors.As(err, &re)
}

// readBatch reads up to size records; read counts the records consumed,
// rejected ones included (what the checkpoint advances by).
func readBatch(src Source, size int) (recs []Record, read int64, rerrs []store.ImportError, eof bool, err error) {
	for read < int64(size) {
		r, err := src.Next()
		var re *RecordError
		switch {
		case err == io.EOF:
			return recs, read, rerrs, true, nil
		case errors.As(err, &re):
			rerrs = append(rerrs, store.ImportError{Line: re.Line, Error: re.Err.Error()})
		case err != nil:
			return nil, 0, nil, false, err
		default:
			recs = append(recs, r)
		}
		read++
	}
	return recs, read, rerrs, false, nil
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now().UTC()
	}
	return time.Now().UTC()
}

// startJob creates the job, or finds the one a resumed run continues.
func (im *Importer) startJob(ctx context.Context, spec Spec) (*store.ImportJob, error) {
	if spec.Resume {
		j, err := im.Store.Imports().LatestImportJob(ctx, spec.Tenant, spec.Digest)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNothingToResume
		}
		if err != nil {
			return nil, err
		}
		return im.Store.Imports().UpdateImportJob(ctx, spec.Tenant, j.ID, func(j *store.ImportJob) error {
			j.Status, j.Message, j.OnConflict = store.ImportRunning, "", spec.OnConflict
			return nil
		})
	}
	id := spec.JobID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	j := &store.ImportJob{ID: id, Tenant: spec.Tenant, Format: spec.Format, Source: spec.Source,
		Digest: spec.Digest, OnConflict: spec.OnConflict, DryRun: spec.DryRun, Status: store.ImportRunning,
		CreatedAt: im.now()}
	if spec.JobID != "" {
		return im.Store.Imports().UpdateImportJob(ctx, spec.Tenant, id, func(j *store.ImportJob) error {
			j.Status = store.ImportRunning
			return nil
		})
	}
	if spec.DryRun {
		return j, nil // a dry run leaves no trace
	}
	if err := im.Store.Imports().CreateImportJob(ctx, j); err != nil {
		return nil, err
	}
	return j, nil
}

// stop marks the job resumable after a cancelled context.
func (im *Importer) stop(spec Spec, job *store.ImportJob) (*store.ImportJob, error) {
	job.Status = store.ImportStopped
	if spec.persisted() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := im.Store.Imports().UpdateImportJob(ctx, job.Tenant, job.ID, func(j *store.ImportJob) error {
			j.Status = store.ImportStopped
			return nil
		}); err != nil {
			return job, errors.Join(ErrInterrupted, err)
		}
	}
	return job, ErrInterrupted
}

// fail records why the job ended; the message is for the operator.
func (im *Importer) fail(ctx context.Context, spec Spec, job *store.ImportJob, cause error) (*store.ImportJob, error) {
	job.Status, job.Message = store.ImportFailed, cause.Error()
	if spec.persisted() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = im.Store.Imports().UpdateImportJob(ctx, job.Tenant, job.ID, func(j *store.ImportJob) error {
			j.Status, j.Message = store.ImportFailed, cause.Error()
			return nil
		})
	}
	return job, cause
}
