package userimport

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestImportScale imports GATEHOUSE_IMPORT_SCALE users from a generated
// CSV and reports the time; it is skipped unless that variable is set
// (the 1,000,000-user figures of docs/BENCHMARKS.md):
//
//	GATEHOUSE_IMPORT_SCALE=1000000 go test -count=1 -run TestImportScale -timeout 30m -v ./internal/userimport/
func TestImportScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GATEHOUSE_IMPORT_SCALE"))
	if n <= 0 {
		t.Skip("set GATEHOUSE_IMPORT_SCALE=N to import N users")
	}
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		tn := mkTenant(t, s)
		pr, pw := io.Pipe()
		go func() {
			const hash = "$2b$04$/07y/Eo4BSuNnA/K0VCzbuI0wn/Lhm1tArxLUFMtY.445Pjf6.6KK"
			buf := []byte("external_id,email,email_verified,given_name,family_name,password_hash,created_at\n")
			for i := range n {
				buf = fmt.Appendf(buf, "ext-%d,user%d@example.com,true,Given%d,Family%d,%s,2020-01-02T03:04:05Z\n", i, i, i, i, hash)
				if len(buf) > 1<<16 {
					if _, err := pw.Write(buf); err != nil {
						return
					}
					buf = buf[:0]
				}
			}
			pw.Write(buf)
			pw.Close()
		}()
		defer pr.Close()
		src, err := NewSource("csv", pr, Options{})
		if err != nil {
			t.Fatal(err)
		}
		im := newImporter(t, s)
		start := time.Now()
		job, err := im.Run(t.Context(), actor, Spec{Tenant: tn, Format: "csv", Digest: "scale"}, src, nil)
		d := time.Since(start)
		if err != nil || job.Created != int64(n) {
			t.Fatalf("import: %+v, %v", job, err)
		}
		t.Logf("%s: %d users in %v (%.0f/s)", s.Dialect(), n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	})
}
