package api

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
)

// maxImportBytes bounds an uploaded import file; larger migrations run
// from the CLI, which reads the file where it lies.
const maxImportBytes = 512 << 20

// maxImportField bounds the other parts of the upload form.
const maxImportField = 4 << 10

// importJSON is an import job as the API shows it.
type importJSON struct {
	ID         string              `json:"id"`
	Status     string              `json:"status"`
	Format     string              `json:"format"`
	Source     string              `json:"source"`
	DryRun     bool                `json:"dry_run"`
	OnConflict string              `json:"on_conflict"`
	Counts     map[string]any      `json:"counts"`
	Progress   map[string]any      `json:"progress"`
	Errors     []store.ImportError `json:"errors"`
	Message    string              `json:"message,omitempty"`
	CreatedAt  time.Time           `json:"created_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
}

func importOut(j *store.ImportJob) importJSON {
	errs := j.Errors
	if errs == nil {
		errs = []store.ImportError{}
	}
	return importJSON{ID: j.ID, Status: j.Status, Format: j.Format, Source: j.Source, DryRun: j.DryRun,
		OnConflict: j.OnConflict, Errors: errs, Message: j.Message, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Counts:   map[string]any{"created": j.Created, "updated": j.Updated, "skipped": j.Skipped, "failed": j.Failed},
		Progress: map[string]any{"records_done": j.Checkpoint, "records_total": j.Total}}
}

func badImport(detail string) error {
	return httpx.NewProblem(http.StatusBadRequest, "validation", "Invalid input", detail)
}

// createImport takes a multipart/form-data upload: the file in part
// "file", and fields format, on_conflict, dry_run and, for Firebase, the
// project's firebase_signer_key, firebase_salt_separator,
// firebase_rounds and firebase_mem_cost. The import runs in the
// background: 202 with the job, whose URL answers its progress.
func (a *API) createImport(w http.ResponseWriter, r *http.Request, c *call) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return httpx.NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"Send the file as multipart/form-data, in a part named file.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return badImport("The body is not a multipart form.")
	}
	fields := map[string]string{}
	var path, digest, name string
	defer func() {
		if path != "" {
			os.Remove(path) // the runner removes it once it owns it
		}
	}()
	for range 32 {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return httpx.NewProblem(http.StatusRequestEntityTooLarge, "too-large", "Payload too large",
				"An uploaded import is at most 512 MiB; import larger files with the CLI.")
		}
		if err != nil {
			return badImport("The multipart form is malformed.")
		}
		switch part.FormName() {
		case "file":
			if path != "" {
				return badImport("Send one file.")
			}
			f, err := os.CreateTemp("", "gatehouse-import-*")
			if err != nil {
				return err
			}
			path, name = f.Name(), part.FileName()
			h := sha256.New()
			_, err = io.Copy(io.MultiWriter(f, h), part)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if errors.As(err, &mbe) {
				return httpx.NewProblem(http.StatusRequestEntityTooLarge, "too-large", "Payload too large",
					"An uploaded import is at most 512 MiB; import larger files with the CLI.")
			}
			if err != nil {
				return badImport("The upload was cut short.")
			}
			digest = hex.EncodeToString(h.Sum(nil))
		default:
			v, err := io.ReadAll(io.LimitReader(part, maxImportField+1))
			if err != nil || len(v) > maxImportField {
				return badImport("A form field is too long.")
			}
			fields[part.FormName()] = string(v)
		}
	}
	if path == "" {
		return badImport("Send the file in a part named file.")
	}
	format := fields["format"]
	if !slices.Contains(userimport.Formats, format) {
		return badImport("format is one of " + strings.Join(userimport.Formats, ", ") + ".")
	}
	onConflict := fields["on_conflict"]
	if onConflict == "" {
		onConflict = userimport.OnConflictSkip
	}
	if onConflict != userimport.OnConflictSkip && onConflict != userimport.OnConflictUpdate && onConflict != userimport.OnConflictFail {
		return badImport("on_conflict is skip, update or fail.")
	}
	dry, err := strconv.ParseBool(cmpOr(fields["dry_run"], "false"))
	if err != nil {
		return badImport("dry_run is true or false.")
	}
	var opts userimport.Options
	if format == "firebase" {
		rounds, err1 := strconv.Atoi(cmpOr(fields["firebase_rounds"], "8"))
		mem, err2 := strconv.Atoi(cmpOr(fields["firebase_mem_cost"], "14"))
		if err1 != nil || err2 != nil || fields["firebase_signer_key"] == "" || fields["firebase_salt_separator"] == "" {
			return badImport("A Firebase import needs the project's firebase_signer_key, firebase_salt_separator, firebase_rounds and firebase_mem_cost.")
		}
		opts.Firebase = userimport.FirebaseParams{SignerKey: fields["firebase_signer_key"],
			SaltSeparator: fields["firebase_salt_separator"], Rounds: rounds, MemCost: mem}
	}
	if len(name) > 200 {
		name = name[:200]
	}
	spec := userimport.Spec{Tenant: c.tenant.ID, Format: format, Source: name, OnConflict: onConflict, DryRun: dry}
	owned := path
	path = "" // the runner owns the file now, whatever happens
	job, err := a.Imports.Start(r.Context(), c.actor, spec, owned, digest, opts)
	var serr *userimport.SourceError
	switch {
	case errors.Is(err, userimport.ErrBusy):
		w.Header().Set("Retry-After", "60")
		return httpx.NewProblem(http.StatusTooManyRequests, "busy", "Too many imports",
			"Other imports are running; try again when they have finished.")
	case errors.As(err, &serr):
		return badImport("The file cannot be read as " + format + ": " + serr.Error() + ".")
	case err != nil:
		return err
	}
	w.Header().Set("Location", "/api/v1/tenants/"+r.PathValue("tenant")+"/imports/"+job.ID)
	httpx.WriteJSON(w, http.StatusAccepted, importOut(job))
	return nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// getImport answers a job's status, counts and progress, and its report
// of rejected records with their lines: as JSON, or as CSV to a client
// that asks for text/csv.
func (a *API) getImport(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	job, err := a.Imports.Importer.Store.Imports().GetImportJob(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="import-`+job.ID+`-errors.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"line", "external_id", "error"})
		for _, e := range job.Errors {
			_ = cw.Write([]string{strconv.FormatInt(e.Line, 10), e.ExternalID, e.Error})
		}
		cw.Flush()
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, importOut(job))
	return nil
}

// credentialsSummary counts the tenant's password hashes by scheme, so an
// operator sees a migration to argon2id finish.
func (a *API) credentialsSummary(w http.ResponseWriter, r *http.Request, c *call) error {
	s, err := userimport.Summarize(r.Context(), a.Imports.Importer.Store.Imports(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}
