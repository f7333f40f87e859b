package directory

import (
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// AttributesProblem answers why raw is not acceptable as the attributes
// of a new user of a tenant with profile schema sc (the sentence
// CreateUser would give), "" when it is.
func AttributesProblem(sc profileschema.Schema, raw json.RawMessage) string {
	var c valid.Collector
	checkAttributes(&c, raw)
	if c.Err() == nil {
		checkProfile(&c, sc, raw, nil)
	}
	var ve *valid.Error
	if errors.As(c.Err(), &ve) {
		return ve.Fields[0].Field + ": " + ve.Fields[0].Message
	}
	return ""
}
