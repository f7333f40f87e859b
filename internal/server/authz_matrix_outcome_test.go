package server

import (
	"net/http"
	"slices"
	"testing"
)

// checkOutcome compares a response with the matrix's demand.
func checkOutcome(t *testing.T, desc string, want int, method string, res *response) {
	t.Helper()
	if want == allowed {
		if res.status < 200 || res.status > 299 {
			t.Errorf("%s: %s, want 2xx", desc, res)
		}
		return
	}
	if res.status != want {
		t.Errorf("%s: %s, want %d", desc, res, want)
		return
	}
	if want == http.StatusUnauthorized {
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="gatehouse"` {
			t.Errorf("%s: WWW-Authenticate = %q", desc, got)
		}
	}
	if res.header.Get("ETag") != "" || res.header.Get("Location") != "" {
		t.Errorf("%s: refusal carries ETag/Location: %v", desc, res.header)
	}
	if method == http.MethodHead {
		return
	}
	p := res.problem(t)
	kind := map[int]string{401: "unauthenticated", 403: "forbidden", 404: "not-found"}[want]
	if p["type"] != "urn:gatehouse:problem:"+kind {
		t.Errorf("%s: problem type %v, want %s", desc, p["type"], kind)
	}
	for k := range p {
		if !slices.Contains(problemKeys, k) {
			t.Errorf("%s: refusal carries %q: %s", desc, k, res.body)
		}
	}
}
