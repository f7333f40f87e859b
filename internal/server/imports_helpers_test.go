package server

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// importUpload is the multipart body of POST .../imports: fields and the
// file's content.
func importUpload(fields map[string]string, file string) rawBody {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "users.csv")
	_, _ = fw.Write([]byte(file))
	_ = mw.Close()
	return rawBody{contentType: mw.FormDataContentType(), data: buf.Bytes()}
}

// importJob stores a finished import job of tenant and answers its id.
func (ta *testApp) importJob(tenant store.TenantID) string {
	ta.t.Helper()
	j := &store.ImportJob{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Format: "csv",
		OnConflict: "skip", Status: store.ImportFinished, Created: 1, Checkpoint: 1,
		Errors: []store.ImportError{{Line: 3, Error: "email is required"}}}
	if err := ta.DB.Imports().CreateImportJob(ta.t.Context(), j); err != nil {
		ta.t.Fatal(err)
	}
	return j.ID
}

// importStatus is an import job as GET .../imports/{id} answers it.
type importStatus struct {
	Status   string           `json:"status"`
	Counts   map[string]int64 `json:"counts"`
	Progress map[string]int64 `json:"progress"`
	Errors   []struct {
		Line  int64  `json:"line"`
		Error string `json:"error"`
	} `json:"errors"`
}

// awaitImport polls the job at loc (a Location of POST .../imports) until
// it has finished, for at most 20 seconds, and answers its last state
// with the response that carried it.
func (ta *testApp) awaitImport(loc, token string) (importStatus, *response) {
	ta.t.Helper()
	var job importStatus
	var res *response
	deadline := time.Now().Add(20 * time.Second)
	for job.Status != store.ImportFinished && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		res = ta.get(loc, token)
		if res.status != http.StatusOK || json.Unmarshal(res.body, &job) != nil {
			ta.t.Fatalf("GET %s: %s", loc, res)
		}
	}
	return job, res
}
