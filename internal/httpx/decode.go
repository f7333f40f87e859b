package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// DecodeJSON reads r's body into v strictly: JSON content type, at most max
// bytes, valid UTF-8 (encoding/json would quietly replace what is not), no
// member name twice in one object (encoding/json would keep the last,
// another parser the first), no unknown fields, one value and nothing
// after it. Its errors are *Problem values naming the offending field
// where there is one.
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
				"Unsupported media type", "Send the body as application/json.")
		}
	}
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(max)
	case err != nil:
		return badJSON("", "The body could not be read.")
	case !utf8.Valid(body):
		return badJSON("", "The body is not valid UTF-8.")
	}
	if name, ok := duplicateName(body); ok {
		return badJSON(name, fmt.Sprintf("Field %q appears more than once in one object.", name))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return badJSON("", "The body holds more than one JSON value.")
		}
		return nil
	}
	switch {
	case errors.Is(err, io.EOF):
		return badJSON("", "The body is empty; a JSON object is expected.")
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badJSON("", "The body is not valid JSON.")
	case errors.As(err, &typeErr):
		field, want := typeErr.Field, jsonType(typeErr.Type.Kind().String())
		if field == "" { // the body itself, e.g. an array where an object belongs
			return badJSON("", fmt.Sprintf("The body must be a JSON %s.", want))
		}
		return badJSON(field, fmt.Sprintf("Field %q must be of type %s.", field, want))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badJSON(field, fmt.Sprintf("Field %q is not known.", field))
	}
	return badJSON("", "The body could not be read as the expected JSON object.")
}

func tooLarge(max int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, "body-too-large",
		"Request body too large", fmt.Sprintf("The body may have at most %d bytes.", max))
}

// duplicateName answers the first member name that occurs twice in one
// object of the JSON text data, compared exactly. It stops quietly at a
// syntax error, which the decoding then reports.
func duplicateName(data []byte) (string, bool) {
	type level struct {
		names   map[string]bool // nil for an array
		wantKey bool            // the next string is a member name
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.wantKey {
			if top.names[s] {
				return s, true
			}
			top.names[s], top.wantKey = true, false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		// A value: its object, if in one, expects a name next.
		if top != nil && top.names != nil {
			top.wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{names: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &level{})
		}
	}
}

func badJSON(field, detail string) *Problem {
	p := NewProblem(http.StatusBadRequest, "malformed-body", "Malformed request body", detail)
	p.Field = field
	return p
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return "number"
}
