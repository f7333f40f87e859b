package sqltest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// sqliteTemplate answers the bytes of an SQLite database file migrated from
// empty by sqlstore.Migrate, made once per test process. Migrating costs
// about 30 ms, but over a second under the race detector (the SQLite
// driver is C translated to Go, all of it instrumented), and hundreds of
// tests each open a fresh database; a copy of the file costs a
// millisecond. Migration itself stays tested from empty by sqlstore's
// TestMigrate and by every test that opens a database another way.
var sqliteTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "gatehouse-sqltest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	// Migrate uses one connection and closes it, which checkpoints the
	// WAL into the database file and removes it.
	if err := sqlstore.Migrate(context.Background(), sqlstore.DriverSQLite, path); err != nil {
		return nil, err
	}
	for _, side := range []string{"-wal", "-journal"} {
		if st, err := os.Stat(path + side); err == nil && st.Size() > 0 {
			return nil, fmt.Errorf("%s%s holds %d bytes after the migration closed", path, side, st.Size())
		}
	}
	return os.ReadFile(path)
})

// MigratedSQLite writes a migrated, empty SQLite database at path (its
// directory is created), as if sqlstore.Open had created and migrated it:
// for tests that open the file themselves, such as through a server's
// data directory. path must not exist yet.
func MigratedSQLite(t testing.TB, path string) {
	t.Helper()
	b, err := sqliteTemplate()
	if err != nil {
		t.Fatalf("sqltest: migrated SQLite template: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		t.Fatalf("sqltest: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("sqltest: %v", err)
	}
}
