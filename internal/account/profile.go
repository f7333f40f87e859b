package account

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// The account page edits the profile schema's user_editable fields beside
// the tenant's free profile attributes; the directory checks each value
// against the schema, so a value outside a field's enum is refused there,
// naming the field.

// schemaValue turns what the page sent for attribute k into the value
// stored: true/false for a bool field of the schema, else the text.
func schemaValue(sc profileschema.Schema, k, v string) any {
	if f, ok := sc.Find(k); ok && f.Type == profileschema.TypeBool {
		switch strings.ToLower(v) {
		case "true", "yes", "on":
			return true
		case "false", "no", "off":
			return false
		}
	}
	return v
}

// editableFields answers the schema's user_editable fields that are not
// among the free profile attributes, with the user's values as text.
func editableFields(set tenancy.Settings, attrs map[string]any) [][2]string {
	var out [][2]string
	for _, f := range set.ProfileSchema.Fields {
		if !f.UserEditable || slices.Contains(set.ProfileAttributes, f.Name) {
			continue
		}
		v := ""
		if x, ok := attrs[f.Name]; ok && x != nil {
			v = fmt.Sprint(x)
		}
		out = append(out, [2]string{f.Name, v})
	}
	return out
}
