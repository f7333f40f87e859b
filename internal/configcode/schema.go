package configcode

import (
	"encoding/json"
	"path"
	"reflect"
)

// SchemaID is where the server publishes the schema.
const SchemaID = "/api/v1/config.schema.json"

// Schema answers the JSON Schema (draft 2020-12) of the format, made from
// the same Go types the loader checks files against: every object refuses
// unknown keys, as loading does.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.of(reflect.TypeFor[Document]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "Gatehouse configuration as code"
	root["required"] = []string{"tenants"}
	root["$defs"] = g.defs
	return json.MarshalIndent(root, "", "  ")
}

type schemaGen struct {
	defs map[string]any
}

// required are the matching keys every list item must have.
var required = map[reflect.Type][]string{
	reflect.TypeFor[Tenant]():     {"slug"},
	reflect.TypeFor[Client]():     {"name"},
	reflect.TypeFor[SAMLSP]():     {"entity_id"},
	reflect.TypeFor[Connection](): {"name", "type"},
	reflect.TypeFor[Role]():       {"name"},
	reflect.TypeFor[Group]():      {"name"},
}

func (g *schemaGen) of(t reflect.Type) map[string]any {
	t = shapeOf(t)
	if t == rawType {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.Interface:
		return map[string]any{}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		if t == reflect.TypeFor[Document]() {
			return g.object(t)
		}
		name := t.Name()
		if pkg := t.PkgPath(); pkg != reflect.TypeFor[Document]().PkgPath() {
			name = path.Base(pkg) + "." + name
		}
		if _, done := g.defs[name]; !done {
			g.defs[name] = map[string]any{} // a placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	order, fields := fieldsOf(t)
	props := map[string]any{}
	for _, n := range order {
		props[n] = g.of(fields[n].Type)
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if req := required[t]; req != nil {
		out["required"] = req
	}
	return out
}
