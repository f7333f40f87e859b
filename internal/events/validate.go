package events

import (
	"encoding/json"
	"fmt"
)

// Validate checks an event's data against its kind's schema (the subset
// of JSON Schema the catalogue uses: type, required, properties and
// additionalProperties). Data redacted by EraseUser is valid for any
// kind about a user.
func Validate(typ string, data []byte) error {
	k, ok := Lookup(typ)
	if !ok {
		return fmt.Errorf("events: %q is not in the catalogue", typ)
	}
	var schema map[string]any
	if err := json.Unmarshal(k.Schema(), &schema); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if m, ok := v.(map[string]any); ok && m["redacted"] == true {
		return nil
	}
	return validate(schema, v)
}

func validate(schema map[string]any, v any) error {
	if typ, ok := schema["type"].(string); ok && !jsonType(typ, v) {
		return fmt.Errorf("want %s, have %T", typ, v)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	req, _ := schema["required"].([]any)
	for _, r := range req {
		if _, ok := obj[fmt.Sprint(r)]; !ok {
			return fmt.Errorf("missing required %q", r)
		}
	}
	props, _ := schema["properties"].(map[string]any)
	for k, val := range obj {
		p, ok := props[k].(map[string]any)
		if !ok {
			if schema["additionalProperties"] == false {
				return fmt.Errorf("property %q is not in the schema", k)
			}
			continue
		}
		if err := validate(p, val); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func jsonType(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}
