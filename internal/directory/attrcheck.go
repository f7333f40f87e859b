package directory

import (
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// AttributesProblem answers why raw is not acceptable as a user's
// attributes (the sentence CreateUser would give), "" when it is.
func AttributesProblem(raw json.RawMessage) string {
	var c valid.Collector
	checkAttributes(&c, raw)
	var ve *valid.Error
	if errors.As(c.Err(), &ve) {
		return ve.Fields[0].Message
	}
	return ""
}
