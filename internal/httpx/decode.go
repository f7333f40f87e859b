package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON reads r's body into v strictly: JSON content type, at most max
// bytes, no unknown fields, one value and nothing after it. Its errors are
// *Problem values naming the offending field where there is one.
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
				"Unsupported media type", "Send the body as application/json.")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return badJSON("", "The body holds more than one JSON value.")
		}
		return nil
	}
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return NewProblem(http.StatusRequestEntityTooLarge, "body-too-large",
			"Request body too large", fmt.Sprintf("The body may have at most %d bytes.", max))
	case errors.Is(err, io.EOF):
		return badJSON("", "The body is empty; a JSON object is expected.")
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badJSON("", "The body is not valid JSON.")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return badJSON(field, fmt.Sprintf("Field %q must be of type %s.", field, jsonType(typeErr.Type.Kind().String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badJSON(field, fmt.Sprintf("Field %q is not known.", field))
	}
	return badJSON("", "The body could not be read as the expected JSON object.")
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
