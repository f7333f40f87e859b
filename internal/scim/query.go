package scim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// Paging bounds (RFC 7644 3.4.2.4): count defaults to 100, at most 1000.
const (
	defaultCount = 100
	maxCount     = 1000
)

func etag(v int64) string { return `W/"` + strconv.FormatInt(v, 10) + `"` }

// checkIfMatch answers 412 when If-Match names no current version.
func checkIfMatch(r *http.Request, version int64) error {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil
	}
	for _, t := range strings.Split(h, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == strings.TrimPrefix(etag(version), "W/") {
			return nil
		}
	}
	return &Error{Status: http.StatusPreconditionFailed, Detail: "The resource changed since that version (If-Match)."}
}

// listParams are a list or .search request's parameters.
type listParams struct {
	Filter             string `json:"filter"`
	SortBy             string `json:"sortBy"`
	SortOrder          string `json:"sortOrder"`
	StartIndex         *int   `json:"startIndex"`
	Count              *int   `json:"count"`
	Attributes         any    `json:"attributes"`
	ExcludedAttributes any    `json:"excludedAttributes"`
}

func queryParams(r *http.Request) (*listParams, error) {
	q := r.URL.Query()
	p := &listParams{Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder"),
		Attributes: q.Get("attributes"), ExcludedAttributes: q.Get("excludedAttributes")}
	for _, x := range []struct {
		name string
		dst  **int
	}{{"startIndex", &p.StartIndex}, {"count", &p.Count}} {
		if v := q.Get(x.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, bad("invalidValue", x.name+" must be an integer.")
			}
			*x.dst = &n
		}
	}
	return p, nil
}

// storeQuery turns list parameters into a store query.
func (p *listParams) storeQuery() (store.SCIMQuery, int, error) {
	var q store.SCIMQuery
	if strings.TrimSpace(p.Filter) != "" {
		f, err := scimfilter.Parse(p.Filter)
		if err != nil {
			return q, 0, syntaxError("invalidFilter", "filter", err)
		}
		q.Filter = f
	}
	if p.SortBy != "" {
		pp, err := scimfilter.ParsePath(p.SortBy)
		if err != nil || pp.Filter != nil {
			return q, 0, bad("invalidValue", "sortBy is an attribute path.")
		}
		q.SortBy = pp.Attr
	}
	switch strings.ToLower(p.SortOrder) {
	case "", "ascending":
	case "descending":
		q.Descending = true
	default:
		return q, 0, bad("invalidValue", "sortOrder is ascending or descending.")
	}
	start := 1
	if p.StartIndex != nil && *p.StartIndex > 1 {
		start = *p.StartIndex // less than 1 means 1 (RFC 7644 3.4.2.4)
	}
	q.Offset = start - 1
	q.Limit = defaultCount
	if p.Count != nil {
		q.Limit = min(max(*p.Count, 0), maxCount)
	}
	return q, start, nil
}

// proj is attributes/excludedAttributes (RFC 7644 3.4.2.5).
type proj struct {
	include, exclude map[string]bool
}

func splitAttrs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		for _, a := range strings.Split(x, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
	case []any:
		for _, a := range x {
			if s, ok := a.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func newProj(attrs, excl any) (*proj, error) {
	p := &proj{}
	set := func(v any) (map[string]bool, error) {
		list := splitAttrs(v)
		if len(list) == 0 {
			return nil, nil
		}
		if len(list) > 64 {
			return nil, bad("invalidValue", "Too many attributes.")
		}
		m := map[string]bool{}
		for _, a := range list {
			pp, err := scimfilter.ParsePath(a)
			if err != nil || pp.Filter != nil {
				return nil, bad("invalidValue", "attributes are attribute paths.")
			}
			k := pp.Attr.Key()
			if strings.EqualFold(pp.Attr.URI, URIEnterprise) {
				k = strings.ToLower(URIEnterprise) + ":" + k
			}
			m[k] = true
		}
		return m, nil
	}
	var err error
	if p.include, err = set(attrs); err != nil {
		return nil, err
	}
	p.exclude, err = set(excl)
	return p, err
}

func projection(r *http.Request) (*proj, error) {
	q := r.URL.Query()
	return newProj(q.Get("attributes"), q.Get("excludedAttributes"))
}

// wants reports whether top-level attribute a is returned.
func (p *proj) wants(a string) bool {
	a = strings.ToLower(a)
	if p.exclude[a] {
		return false
	}
	if p.include == nil {
		return true
	}
	for k := range p.include {
		if k == a || strings.HasPrefix(k, a+".") {
			return true
		}
	}
	return false
}

// always are returned whatever the projection asks.
var always = map[string]bool{"id": true, "schemas": true}

func (p *proj) apply(doc map[string]any) map[string]any {
	if p.include == nil && p.exclude == nil {
		return doc
	}
	out := map[string]any{}
	for k, v := range doc {
		lk := strings.ToLower(k)
		if always[lk] {
			out[k] = v
			continue
		}
		if p.exclude[lk] {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			prefix := lk
			if lk == strings.ToLower(URIEnterprise) {
				prefix = lk + ":"
			} else {
				prefix += "."
			}
			keep := map[string]any{}
			whole := p.include == nil || p.include[lk]
			for sk, sv := range sub {
				full := prefix + strings.ToLower(sk)
				if p.exclude[full] {
					continue
				}
				if whole || p.include[full] {
					keep[sk] = sv
				}
			}
			if len(keep) > 0 {
				out[k] = keep
			}
			continue
		}
		if p.include == nil || p.wants(lk) {
			out[k] = v
		}
	}
	return out
}

func listResponse(start int, total int64, resources []any) map[string]any {
	return map[string]any{"schemas": []string{URIList}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(resources), "Resources": resources}
}

// listHandlers answers the GET list and the POST .search handler of one
// resource type, both running run with the request's parameters.
func listHandlers(run func(w http.ResponseWriter, r *req, p *listParams) error) (get, search handler) {
	get = func(w http.ResponseWriter, r *req) error {
		p, err := queryParams(r.Request)
		if err != nil {
			return err
		}
		return run(w, r, p)
	}
	search = func(w http.ResponseWriter, r *req) error {
		var p listParams
		if err := decode(r, &p); err != nil {
			return err
		}
		return run(w, r, &p)
	}
	return get, search
}

// parse answers the store query, the 1-based start and the projection.
func (p *listParams) parse() (store.SCIMQuery, int, *proj, error) {
	q, start, err := p.storeQuery()
	if err != nil {
		return q, 0, nil, err
	}
	pr, err := newProj(p.Attributes, p.ExcludedAttributes)
	return q, start, pr, err
}

func (s *Server) users(w http.ResponseWriter, r *req, p *listParams) error {
	q, start, pr, err := p.parse()
	if err != nil {
		return err
	}
	users, total, err := s.Directory.FilterUsers(r.Context(), r.tenant.ID, q)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(users))
	for i := range users {
		// Group membership is not listed per user in lists (one query per
		// user); GET /Users/{id} answers it.
		out = append(out, pr.apply(r.userDoc(&users[i], nil)))
	}
	write(w, http.StatusOK, listResponse(start, total, out))
	return nil
}
