package scim

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Error is a SCIM error (RFC 7644 3.12): Type is the scimType ("" for
// none), Detail a sentence for the client that never names internals.
type Error struct {
	Status int
	Type   string
	Detail string
}

func (e *Error) Error() string { return e.Type + ": " + e.Detail }

func bad(scimType, detail string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: scimType, Detail: detail}
}

// toError maps a domain error to its SCIM error once, here; anything
// unknown is a bare 500 whose cause only the log sees.
func toError(err error) (*Error, bool) {
	var se *Error
	var ve *valid.Error
	var ce *valid.Conflict
	switch {
	case errors.As(err, &se):
		return se, true
	case errors.As(err, &ce):
		detail := scimField(ce.Field) + " is already in use."
		if ce.Lookalike {
			detail = scimField(ce.Field) + " looks like another user's (confusable characters)."
		}
		return &Error{Status: http.StatusConflict, Type: "uniqueness", Detail: detail}, true
	case errors.As(err, &ve):
		detail := ""
		for i, f := range ve.Fields {
			if i > 0 {
				detail += " "
			}
			detail += scimField(f.Field) + ": " + f.Message
		}
		return bad("invalidValue", detail), true
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Detail: "No such resource."}, true
	case errors.Is(err, store.ErrPrecondition):
		return &Error{Status: http.StatusPreconditionFailed, Detail: "The resource changed since that version (If-Match)."}, true
	case errors.Is(err, store.ErrCycle):
		return bad("invalidValue", "A group cannot contain itself."), true
	case errors.Is(err, store.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Detail: "The server is busy; nothing was changed. Retry later."}, true
	case errors.Is(err, store.ErrBadFilter):
		return bad("invalidFilter", "The filter is not supported: "+reason(err, store.ErrBadFilter)+"."), true
	case errors.Is(err, scimfilter.ErrSyntax):
		return syntaxError("invalidFilter", "filter", err), true
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "Internal error."}, false
}

// syntaxError is the client's error for a filter or path scimfilter could
// not parse: what says which ("filter" or "path").
func syntaxError(scimType, what string, err error) *Error {
	return bad(scimType, "The "+what+" is invalid: "+reason(err, scimfilter.ErrSyntax)+".")
}

// reason is what err says after sentinel (a filter's "%w: why" text):
// the why, without the sentinel and whatever wrapped it, whose prefixes
// name packages and are no business of the client.
func reason(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()); i >= 0 {
		msg = msg[i+len(sentinel.Error()):]
	}
	if msg = strings.TrimPrefix(msg, ": "); msg == "" {
		return "no reason given"
	}
	return msg
}

// scimField names a directory field the way a SCIM client knows it.
func scimField(f string) string {
	switch f {
	case "username":
		return "userName"
	case "email":
		return "emails"
	case "given_name":
		return "name.givenName"
	case "family_name":
		return "name.familyName"
	case "name":
		return "displayName"
	case "status":
		return "active"
	}
	if name, ok := strings.CutPrefix(f, "attributes."); ok {
		return URIProfile + ":" + name
	}
	return f
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	se, known := toError(err)
	if !known {
		s.Log.ErrorContext(r.Context(), "scim: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	if se.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", httpx.BusyRetryAfter)
	}
	body := map[string]any{"schemas": []string{URIError}, "status": strconv.Itoa(se.Status), "detail": se.Detail}
	if se.Type != "" {
		body["scimType"] = se.Type
	}
	write(w, se.Status, body)
}
