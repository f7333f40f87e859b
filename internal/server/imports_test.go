package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
)

// foreignUsers answers a JSONL import of one user per fixture of
// internal/credential/testdata (hashes made by Python's hashlib and the
// system crypt(3), and the argon2 reference vector), their passwords by
// email, and the hash schemes covered.
func foreignUsers(t *testing.T) (jsonl string, passwords map[string]string, schemes map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile("../credential/testdata/foreign_hashes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	passwords, schemes = map[string]string{}, map[string]bool{}
	var sb strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Split(line, "\t")
		email := fmt.Sprintf("legacy%d@example.com", i)
		rec, err := json.Marshal(map[string]any{"external_id": fmt.Sprintf("legacy-%d", i), "email": email,
			"email_verified": true, "password_hash": f[2]})
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(append(rec, '\n'))
		passwords[email], schemes[f[0]] = f[1], true
	}
	return sb.String(), passwords, schemes
}

// TestImportedHashesLogIn: users imported with every foreign hash scheme
// sign in through the hosted login page with their original passwords;
// afterwards every hash is argon2id, the summary says so, and importing
// the same file again changes nothing.
func TestImportedHashesLogIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := t.Context()
		tn := ta.tenant("migrated")
		jsonl, passwords, schemes := foreignUsers(t)
		// Firebase's published vector comes through its own export format.
		fbParams := userimport.Options{Firebase: userimport.FirebaseParams{
			SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
			SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}}
		fbFile, err := os.ReadFile("../userimport/testdata/firebase.json")
		if err != nil {
			t.Fatal(err)
		}
		// The Firebase user's Google link needs a connection of that name.
		if err := ta.DB.Connections().Connections().CreateConnection(ctx, &store.Connection{ID: uuid.Must(uuid.NewV7()).String(),
			Tenant: tn.ID, Name: "google.com", Type: "oidc"}); err != nil {
			t.Fatal(err)
		}
		run := func(format, data string, o userimport.Options) *store.ImportJob {
			t.Helper()
			src, err := userimport.NewSource(format, strings.NewReader(data), o)
			if err != nil {
				t.Fatal(err)
			}
			job, err := ta.Importer.Run(ctx, testActor, userimport.Spec{Tenant: tn.ID, Format: format, Digest: format}, src, nil)
			if err != nil || job.Failed != 0 {
				t.Fatalf("import %s: %+v, %v", format, job, err)
			}
			return job
		}
		run("jsonl", jsonl, userimport.Options{})
		run("firebase", string(fbFile), fbParams)
		passwords["user1@example.com"] = "user1password"
		schemes["firebase-scrypt"] = true

		summary := func() userimport.Summary {
			t.Helper()
			res := ta.get("/api/v1/tenants/migrated/credentials/summary", ta.key(tn.ID, "read"))
			var s userimport.Summary
			if res.status != http.StatusOK || json.Unmarshal(res.body, &s) != nil {
				t.Fatalf("summary: %s", res)
			}
			return s
		}
		before := summary()
		for s := range schemes {
			if before.Formats[s] == 0 {
				t.Errorf("summary before logins lacks %s: %+v", s, before)
			}
		}
		if before.WithoutPassword != 1 { // Firebase's user2 has none
			t.Errorf("without_password = %d", before.WithoutPassword)
		}

		for email, pw := range passwords {
			b := ta.browser()
			b.signIn("migrated", email, pw)
			u, err := ta.DB.Users().GetUserByEmail(ctx, tn.ID, email)
			if err != nil {
				t.Fatal(err)
			}
			if s := credential.Scheme(u.PasswordHash); s != "argon2id" {
				t.Errorf("%s: hash after login is %s", email, s)
			}
		}
		after := summary()
		if n := int64(len(passwords)); len(after.Formats) != 1 || after.Formats["argon2id"] != n {
			t.Errorf("summary after logins %+v, want %d argon2id only", after, n)
		}

		// A second import of both files changes nothing: the argon2id
		// hashes stay, no user is added or rewritten.
		snap := func() map[string]string {
			out := map[string]string{}
			users, err := ta.DB.Users().SearchUsers(ctx, tn.ID, store.UserQuery{Page: store.Page{Limit: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				out[u.ID] = fmt.Sprint(u.Version, u.PasswordHash, u.UpdatedAt.UnixMicro())
			}
			return out
		}
		s1 := snap()
		if j := run("jsonl", jsonl, userimport.Options{}); j.Created != 0 || j.Updated != 0 {
			t.Errorf("second jsonl import %+v", j)
		}
		if j := run("firebase", string(fbFile), fbParams); j.Created != 0 || j.Updated != 0 {
			t.Errorf("second firebase import %+v", j)
		}
		if s2 := snap(); fmt.Sprint(s1) != fmt.Sprint(s2) {
			t.Errorf("a second import changed users:\n%v\n%v", s1, s2)
		}
	})
}

// TestImportAPI: an upload becomes a background job whose status, counts
// and line-numbered error report the API answers; bad uploads are 4xx
// and import nothing.
func TestImportAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("uploads")
		admin := ta.key(tn.ID, "admin")
		post := func(body rawBody) *response {
			return ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/uploads/imports", auth: "Bearer " + admin, body: body})
		}
		file := "external_id,email,groups\nx1,api1@example.com,staff\nx2,broken,\nx3,api3@example.com,staff\n"
		res := post(importUpload(map[string]string{"format": "csv"}, file))
		if res.status != http.StatusAccepted || !strings.HasPrefix(res.header.Get("Location"), "/api/v1/tenants/uploads/imports/") {
			t.Fatalf("POST imports: %s", res)
		}
		loc := res.header.Get("Location")
		job, res := ta.awaitImport(loc, admin)
		if job.Status != store.ImportFinished || job.Counts["created"] != 2 || job.Counts["failed"] != 1 ||
			job.Progress["records_done"] != 3 || job.Progress["records_total"] != 3 || len(job.Errors) != 1 || job.Errors[0].Line != 3 {
			t.Fatalf("job %s", res)
		}
		csvRes := ta.do(request{method: http.MethodGet, path: loc, auth: "Bearer " + admin, header: map[string]string{"Accept": "text/csv"}})
		if csvRes.status != http.StatusOK || !strings.HasPrefix(string(csvRes.body), "line,external_id,error\n3,x2,") {
			t.Errorf("CSV report: %s", csvRes)
		}
		if n, _ := ta.DB.Users().CountUsers(t.Context(), tn.ID); n != 2 {
			t.Errorf("users = %d", n)
		}

		for name, tc := range map[string]struct {
			body   rawBody
			status int
		}{
			"unknown format":  {importUpload(map[string]string{"format": "ldif"}, file), http.StatusBadRequest},
			"bad conflict":    {importUpload(map[string]string{"format": "csv", "on_conflict": "merge"}, file), http.StatusBadRequest},
			"bad header":      {importUpload(map[string]string{"format": "csv"}, "password,email\nx,y\n"), http.StatusBadRequest},
			"no file":         {rawBody{"multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ncsv\r\n--x--\r\n")}, http.StatusBadRequest},
			"json body":       {rawBody{"application/json", []byte(`{"format":"csv"}`)}, http.StatusUnsupportedMediaType},
			"firebase no key": {importUpload(map[string]string{"format": "firebase"}, `{"users":[]}`), http.StatusBadRequest},
		} {
			res := post(tc.body)
			if res.status != tc.status {
				t.Errorf("%s: %s, want %d", name, res, tc.status)
			}
			if p := res.problem(t); strings.Contains(fmt.Sprint(p["detail"]), "/tmp") {
				t.Errorf("%s: detail leaks a path: %v", name, p["detail"])
			}
		}
		if n, _ := ta.DB.Users().CountUsers(t.Context(), tn.ID); n != 2 {
			t.Errorf("bad uploads imported users: %d", n)
		}
	})
}
