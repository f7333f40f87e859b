// Package valid carries input-validation failures from services to the
// edges. A service returns *Error naming each offending field; the API maps it
// to a 400 problem+json, the CLI prints it. It knows nothing of HTTP.
package valid

import "strings"

// FieldError is one problem with one input field.
type FieldError struct {
	// Field is the JSON name of the input field, dotted for nested ones.
	Field string `json:"field"`
	// Code is stable for programs: "required", "invalid", "too_long", ...
	Code string `json:"code"`
	// Message is a sentence for people. It never echoes secrets.
	Message string `json:"message"`
}

// Error is a validation failure of one or more fields; nothing was stored.
type Error struct {
	Fields []FieldError
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Collector gathers field errors; Err returns nil when there were none.
type Collector struct {
	fields []FieldError
}

// Add records a problem with field.
func (c *Collector) Add(field, code, message string) {
	c.fields = append(c.fields, FieldError{Field: field, Code: code, Message: message})
}

// Err returns *Error with every recorded problem, or nil.
func (c *Collector) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &Error{Fields: c.fields}
}

// Field returns an *Error about a single field.
func Field(field, code, message string) error {
	return &Error{Fields: []FieldError{{Field: field, Code: code, Message: message}}}
}

// Conflict says which unique field (email, username, slug, name) is already
// taken. It wraps the storage error that decided it, so errors.Is with
// store.ErrConflict holds.
type Conflict struct {
	Field string
	Cause error
	// Lookalike says the value differs from the one in use but looks the
	// same (Unicode confusables such as Cyrillic а for Latin a).
	Lookalike bool
}

func (e *Conflict) Error() string {
	if e.Lookalike {
		return e.Field + " looks like one already in use"
	}
	return e.Field + " is already in use"
}

// Unwrap returns the storage error.
func (e *Conflict) Unwrap() error { return e.Cause }
