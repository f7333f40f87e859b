package sqlstore

import (
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Times are stored as unix microseconds: both backends keep that precision
// exactly, and the audit hash is defined over it.

// micro drops t's sub-microsecond part, its zone and its monotonic reading.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros is the column value of an optional time.
func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// timePtr is the optional time of a nullable column.
func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// microPtr normalises an optional time as micro does.
func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := micro(*t)
	return &m
}

// nullString stores "" as NULL (the optional unique username).
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// jsonOr returns raw, or def when raw is empty (nothing stored yet).
func jsonOr(raw json.RawMessage, def string) string {
	if len(raw) == 0 {
		return def
	}
	return string(raw)
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// builder assembles a statement whose WHERE clause depends on the query,
// numbering placeholders $1, $2, ... as arguments are added (both drivers
// bind numbered placeholders).
type builder struct {
	sb   strings.Builder
	args []any
}

// arg adds v and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *builder) add(parts ...string) {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
}

func (b *builder) String() string { return b.sb.String() }
