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
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	err := dec.Decode(v)
	if err == nil {
		// Reading on past the value also enforces max: a body that is too
		// large is a 413 even when the excess is trailing whitespace.
		_, extra := dec.Token()
		switch {
		case extra == io.EOF:
			return nil
		case !errors.As(extra, &maxErr):
			return badJSON("", "The body holds more than one JSON value.")
		}
		err = extra
	}
	switch {
	case errors.As(err, &maxErr):
		return NewProblem(http.StatusRequestEntityTooLarge, "body-too-large",
			"Request body too large", fmt.Sprintf("The body may have at most %d bytes.", max))
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
