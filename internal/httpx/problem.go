package httpx

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// ProblemTypePrefix starts every problem type URI; the suffix is stable.
const ProblemTypePrefix = "urn:gatehouse:problem:"

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the first offending input field; Errors lists them all.
	Field  string             `json:"field,omitempty"`
	Errors []valid.FieldError `json:"errors,omitempty"`
	// Limit and Plan name the plan limit a quota-exceeded problem hit.
	Limit     string `json:"limit,omitempty"`
	Plan      string `json:"plan,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// NewProblem builds a problem of the given kind ("validation", "not-found"...).
func NewProblem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: ProblemTypePrefix + kind, Title: title, Status: status, Detail: detail}
}

// Error lets a *Problem be returned as an error by handlers.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// WriteProblem sends p as application/problem+json, with the request's
// path and id. It fills them in on a copy: p may be a package-level
// problem that concurrent requests return.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	sent := *p
	sent.Instance = r.URL.Path
	sent.RequestID = RequestID(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(sent.Status)
	_ = json.NewEncoder(w).Encode(&sent)
}

// WriteJSON sends v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
