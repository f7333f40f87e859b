package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// exportStall bounds how long one write of an export may wait for the
// client. An export of a large tenant outlives the server's write timeout,
// so each write moves the deadline on instead: a client that keeps reading
// gets the whole file, one that stops reading is dropped.
const exportStall = time.Minute

var errHashesPlatformOnly = httpx.NewProblem(http.StatusForbidden, "forbidden", "Forbidden",
	"Password hashes are exported only with a platform API key; export without include_hashes, or use a platform key.")

// exportUsers streams the tenant's users in a format the import takes:
// format=jsonl (default) or csv. Password hashes go out only with
// include_hashes=true, which needs a platform key; TOTP seeds never do.
// The Exporter audits the export, with the key as actor, before it
// writes a byte.
func (a *API) exportUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	format := cmpOr(q.Get("format"), "jsonl")
	if format != "jsonl" && format != "csv" {
		return badImport("format is jsonl or csv.")
	}
	hashes, err := strconv.ParseBool(cmpOr(q.Get("include_hashes"), "false"))
	if err != nil {
		return badImport("include_hashes is true or false.")
	}
	if hashes && !c.platform() {
		return errHashesPlatformOnly
	}
	ctype, ext := "application/x-ndjson", "jsonl"
	if format == "csv" {
		ctype, ext = "text/csv; charset=utf-8", "csv"
	}
	header := func() {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Disposition", `attachment; filename="users-`+c.tenant.Slug+`.`+ext+`"`)
		h.Set("Cache-Control", "no-store")
	}
	// HEAD answers the headers without reading (or auditing) anything.
	if r.Method == http.MethodHead {
		header()
		w.WriteHeader(http.StatusOK)
		return nil
	}
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), start: header}
	_, err = a.Exporter.Export(r.Context(), c.actor, c.tenant.ID, format, hashes, sw)
	if err != nil && sw.started {
		// The status line is out: the only honest signal left is to cut
		// the response short, so the client sees a truncated body rather
		// than a file that looks complete. A client that went away is no
		// server error.
		if r.Context().Err() != nil {
			panic(http.ErrAbortHandler)
		}
		a.Log.ErrorContext(r.Context(), "user export failed mid-stream", "err", err,
			"tenant", string(c.tenant.ID), "request_id", httpx.RequestID(r.Context()))
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		return err
	}
	if !sw.started { // an empty tenant still gets its (empty) file
		header()
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// streamWriter sets the response's headers at the first write, so an
// error before any output is still answered as a problem, and moves the
// write deadline on with every write.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	start   func()
	started bool
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.start()
		s.started = true
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(exportStall)) // unsupported only behind a writer without Unwrap
	return s.w.Write(p)
}
