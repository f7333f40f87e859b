package server

import (
	"bytes"
	"mime/multipart"

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
