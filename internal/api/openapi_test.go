package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIPathItemKeys are the other keys a path item may hold.
var openAPIPathItemKeys = []string{"$ref", "summary", "description", "servers", "parameters"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	if err := checkNoDuplicateKeys(openAPIDoc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes checks the document against the route table in
// both directions: every route is documented and every documented operation
// is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	if v := doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}

	routes := map[string]route{}
	for _, rt := range (&API{}).routes() {
		// A ServeMux pattern's {name} is an OpenAPI path template as is.
		key := rt.Method + " " + rt.Path
		if _, dup := routes[key]; dup {
			t.Errorf("route %s is in the table twice", key)
		}
		routes[key] = rt
	}

	for key, rt := range routes {
		item, _ := paths[rt.Path].(map[string]any)
		if _, ok := item[strings.ToLower(rt.Method)].(map[string]any); !ok {
			t.Errorf("route %s is missing from openapi.json", key)
		}
	}

	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for k := range item {
			if !slices.Contains(openAPIMethods, k) && !slices.Contains(openAPIPathItemKeys, k) &&
				!strings.HasPrefix(k, "x-") {
				t.Errorf("paths[%q] has unexpected key %q", path, k)
			}
		}
		for _, m := range openAPIMethods {
			if _, ok := item[m]; !ok {
				continue
			}
			if _, ok := routes[strings.ToUpper(m)+" "+path]; !ok {
				t.Errorf("openapi.json documents %s %s, which is not a route", strings.ToUpper(m), path)
			}
		}
	}
}

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperations checks each operation: a unique operationId, a
// success response, a declared parameter for each path template name, and
// security that matches the route's need.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	needs := map[string]need{}
	for _, rt := range (&API{}).routes() {
		needs[rt.Method+" "+rt.Path] = rt.need
	}
	ids := map[string]string{}
	for path, v := range paths {
		item, _ := v.(map[string]any)
		for _, m := range openAPIMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			name := strings.ToUpper(m) + " " + path
			op, ok := raw.(map[string]any)
			if !ok {
				t.Errorf("%s: operation is not an object", name)
				continue
			}

			id, _ := op["operationId"].(string)
			switch prev, dup := ids[id]; {
			case id == "":
				t.Errorf("%s has no operationId", name)
			case dup:
				t.Errorf("%s and %s share operationId %q", prev, name, id)
			default:
				ids[id] = name
			}

			responses, _ := op["responses"].(map[string]any)
			success := false
			for code := range responses {
				success = success || len(code) == 3 && code[0] == '2'
			}
			if !success {
				t.Errorf("%s has no 2xx response", name)
			}

			declared := map[string]bool{}
			params, _ := item["parameters"].([]any)
			params = append(slices.Clone(params), anySlice(op["parameters"])...)
			for _, p := range params {
				pm, _ := resolveRef(doc, p).(map[string]any)
				if pm["in"] == "path" {
					declared[fmt.Sprint(pm["name"])] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v is not required: true", name, pm["name"])
					}
				}
			}
			var want []string
			for _, sm := range pathParamRE.FindAllStringSubmatch(path, -1) {
				want = append(want, sm[1])
				if !declared[sm[1]] {
					t.Errorf("%s: path parameter %q is not declared", name, sm[1])
				}
			}
			for p := range declared {
				if !slices.Contains(want, p) {
					t.Errorf("%s declares path parameter %q that is not in the path", name, p)
				}
			}

			sec, hasSec := op["security"].([]any)
			public := hasSec && len(sec) == 0
			if n, ok := needs[name]; ok && (n == needPublic) != public {
				t.Errorf("%s: security %v does not match the route (public: %v)", name, op["security"], n == needPublic)
			}
		}
	}
}

// TestOpenAPIRefs walks the whole document: every $ref names a component
// that exists.
func TestOpenAPIRefs(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k == "$ref" {
					n++
					s, _ := e.(string)
					if !strings.HasPrefix(s, "#/components/") {
						t.Errorf("%s: $ref %v does not name a component", at, e)
					} else if _, ok := lookupPointer(doc, s); !ok {
						t.Errorf("%s: $ref %s does not resolve", at, s)
					}
					continue
				}
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s/%d", at, i), e)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Error("openapi.json has no $ref at all; the walk found nothing to check")
	}
}

// TestOpenAPIServed fetches the document the way a client does: no key.
func TestOpenAPIServed(t *testing.T) {
	mux := http.NewServeMux()
	(&API{}).Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: status %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDoc) {
		t.Error("the served document differs from openapi.json")
	}
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// resolveRef follows v's $ref, if it has one, within doc.
func resolveRef(doc map[string]any, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	s, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	r, _ := lookupPointer(doc, s)
	return r
}

// lookupPointer resolves a local reference "#/a/b" (RFC 6901) in doc.
func lookupPointer(doc map[string]any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// checkNoDuplicateKeys fails on an object with a key twice, which
// encoding/json would otherwise resolve silently by keeping the last.
func checkNoDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value func(at string) error
	value = func(at string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					return fmt.Errorf("key %q appears twice in %s", k, at)
				}
				seen[k] = true
				if err := value(at + "/" + k); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := value("#"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON document")
	}
	return nil
}
