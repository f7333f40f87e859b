package tenancy

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ExportFormat names the first line of a tenant export.
const ExportFormat = "gatehouse-tenant-export"

// maxExportLine bounds one line of an import (one row).
const maxExportLine = 16 << 20

// ErrKeyMismatch answers an import whose secrets were sealed with another
// master key: they could not be opened here, so nothing is imported.
var ErrKeyMismatch = errors.New("the export's secrets are sealed with another master key: import it on a deployment that has the same master key (GATEHOUSE_MASTER_KEY)")

// ExportHeader is the first line of a tenant export. KeyCheck is a value
// sealed with the exporting deployment's master key: an import that cannot
// open it has another key and refuses the file.
type ExportHeader struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	Dialect    string         `json:"dialect"`
	Tenant     store.TenantID `json:"tenant"`
	Slug       string         `json:"slug"`
	KeyCheck   string         `json:"key_check"`
	ExportedAt time.Time      `json:"exported_at"`
}

// exportLine is every line after the header: one row of one table.
type exportLine struct {
	Table string          `json:"table"`
	Row   json.RawMessage `json:"row"`
}

func keyCheckAAD(id store.TenantID) []byte {
	return []byte("gatehouse tenant export key check " + string(id))
}

// ExportTenant writes the tenant's every row (every table with a tenant_id
// column, secrets still sealed) to w as JSON lines after a header, and
// answers how many rows it wrote. The export is recorded on the platform's
// audit chain. Errors: store.ErrNotFound.
func (s *Service) ExportTenant(ctx context.Context, actor events.Actor, id store.TenantID, w io.Writer) (int, error) {
	t, err := s.Store.Tenants().GetTenant(ctx, id)
	if err != nil {
		return 0, err
	}
	check, err := s.Keys.Sealer.Seal([]byte(ExportFormat), keyCheckAAD(id))
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(ExportHeader{Format: ExportFormat, Version: 1, Dialect: s.Store.Dialect(), Tenant: id,
		Slug: t.Slug, KeyCheck: base64.StdEncoding.EncodeToString(check), ExportedAt: s.now()}); err != nil {
		return 0, err
	}
	n := 0
	// One transaction: the rows are one consistent snapshot.
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		return tx.TenantData().ExportTenant(ctx, id, func(table string, row json.RawMessage) error {
			n++
			return enc.Encode(exportLine{Table: table, Row: row})
		})
	})
	if err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.export", TargetType: "tenant", TargetID: string(id),
			Changes: events.Changes{"rows": {After: n}}})
	})
	return n, err
}

// ImportTenant reads an export written by ExportTenant and creates the
// tenant with every row, in one transaction: a bad line, a tenant whose id
// or slug exists, another database dialect or another master key change
// nothing. It answers the tenant and the number of rows.
// Errors: ErrKeyMismatch, *ImportError, store.ErrConflict.
func (s *Service) ImportTenant(ctx context.Context, actor events.Actor, r io.Reader) (*store.Tenant, int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	if !sc.Scan() {
		return nil, 0, importErr(1, "the file is empty or its first line is too long", sc.Err())
	}
	var h ExportHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != ExportFormat {
		return nil, 0, importErr(1, "the first line is not a Gatehouse tenant export header", nil)
	}
	if h.Version != 1 {
		return nil, 0, importErr(1, fmt.Sprintf("export version %d is not supported", h.Version), nil)
	}
	if h.Dialect != s.Store.Dialect() {
		return nil, 0, importErr(1, fmt.Sprintf("the export comes from a %s database; import it into %s", h.Dialect, h.Dialect), nil)
	}
	sealed, err := base64.StdEncoding.DecodeString(h.KeyCheck)
	if err != nil {
		return nil, 0, importErr(1, "the key check is not base64", nil)
	}
	if plain, err := s.Keys.Sealer.Open(sealed, keyCheckAAD(h.Tenant)); err != nil || string(plain) != ExportFormat {
		return nil, 0, ErrKeyMismatch
	}
	n := 0
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		line := 1
		for sc.Scan() {
			line++
			var l exportLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Table == "" {
				return importErr(line, "not a row line", nil)
			}
			if (n == 0) != (l.Table == "tenants") {
				return importErr(line, "the tenants row must come first, once", nil)
			}
			if err := tx.TenantData().ImportRow(ctx, h.Tenant, l.Table, l.Row); err != nil {
				if errors.Is(err, store.ErrConflict) && l.Table == "tenants" {
					return fmt.Errorf("tenant %s (%s) exists here already: %w", h.Slug, h.Tenant, store.ErrConflict)
				}
				return importErr(line, "row refused", err)
			}
			n++
		}
		if err := sc.Err(); err != nil {
			return importErr(line+1, "unreadable", err)
		}
		if n == 0 {
			return importErr(line, "the export has no tenants row", nil)
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.import", TargetType: "tenant", TargetID: string(h.Tenant),
			Changes: events.Changes{"rows": {After: n}}})
	})
	if err != nil {
		return nil, 0, err
	}
	s.forgetSlug(h.Slug)
	t, err := s.Store.Tenants().GetTenant(ctx, h.Tenant)
	return t, n, err
}

// ImportError says which line of an import was refused and why.
type ImportError struct {
	Line  int
	Msg   string
	Cause error
}

func (e *ImportError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("tenant import, line %d: %s: %v", e.Line, e.Msg, e.Cause)
	}
	return fmt.Sprintf("tenant import, line %d: %s", e.Line, e.Msg)
}

func (e *ImportError) Unwrap() error { return e.Cause }

func importErr(line int, msg string, cause error) error {
	return &ImportError{Line: line, Msg: msg, Cause: cause}
}
