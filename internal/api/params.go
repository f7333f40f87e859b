package api

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// list is the envelope of every list answer.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

var idRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// page reads ?cursor= and ?limit=. A cursor is an opaque encoding of the
// last id seen; ids are UUIDv7 so the order is creation order and stable.
func page(r *http.Request) (store.Page, error) {
	var p store.Page
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return p, valid.Field("limit", "invalid", "limit is a whole number from 1 to 1000.")
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || !idRE.Match(b) {
			return p, valid.Field("cursor", "invalid", "cursor is not one this API gave out.")
		}
		p.After = string(b)
	}
	return p, nil
}

// makeList wraps a page of records; a full page gets a next cursor.
func makeList[R, T any](p store.Page, rs []R, id func(*R) string, out func(*R) T) list[T] {
	l := list[T]{Items: make([]T, 0, len(rs))}
	for i := range rs {
		l.Items = append(l.Items, out(&rs[i]))
	}
	if len(rs) > 0 && len(rs) == p.ClampLimit() {
		l.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(id(&rs[len(rs)-1])))
	}
	return l
}

// pathID reads an id path value; a malformed one is simply not found.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !idRE.MatchString(id) {
		return "", store.ErrNotFound
	}
	return id, nil
}

// etag is a record version as an entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads If-Match: 0 when absent or "*", the version otherwise.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, store.ErrPrecondition
	}
	return n, nil
}
