package configcode

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// notYet are keys of objects the format will take when their features
// exist; until then they are refused like any unknown key, with a hint.
var notYet = map[string]bool{
	"profile_schema": true, "consent_purposes": true, "webhooks": true, "hooks": true,
	"plans": true, "plan": true, "risk": true,
}

// walker checks a YAML tree against a Go type's JSON shape (the names of
// its json tags) and turns it into plain JSON values, reporting every
// unknown or duplicate key and every value of the wrong kind.
type walker struct {
	file string
	ps   *problems
	// budget bounds the nodes visited: aliases can make a small file
	// a huge tree (the "billion laughs"), which is refused.
	budget int
}

// spend counts one node; false once the budget is gone (reported once).
func (w *walker) spend(n *yaml.Node) bool {
	w.budget--
	if w.budget == -1 {
		w.ps.add(w.at(n), "", "the file is too large once its aliases are expanded")
	}
	return w.budget >= 0
}

func (w *walker) at(n *yaml.Node) pos { return pos{file: w.file, line: n.Line} }

// jsonName answers a field's JSON key ("" when the field is not encoded).
// Fields tagged config:"-" are not part of configuration files.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() || f.Tag.Get("config") == "-" {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

// fieldsOf answers a struct's fields by JSON key, embedded structs flattened.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.StructField) {
	var order []string
	byName := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			o, m := fieldsOf(f.Type)
			for _, n := range o {
				order = append(order, n)
				byName[n] = m[n]
			}
			continue
		}
		if n := jsonName(f); n != "" {
			order = append(order, n)
			byName[n] = f
		}
	}
	return order, byName
}

var rawType = reflect.TypeFor[json.RawMessage]()

// value checks n against t and answers its plain JSON value. key is the
// dotted path for problems.
func (w *walker) value(n *yaml.Node, t reflect.Type, key string) any {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if !w.spend(n) {
		return nil
	}
	t = shapeOf(t)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			return nil
		}
		w.ps.add(w.at(n), key, "a value is required here")
		return nil
	}
	if t == rawType || t.Kind() == reflect.Interface {
		return w.anyValue(n, key)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.value(n, t.Elem(), key)
	case reflect.Struct:
		return w.object(n, t, key)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.ps.add(w.at(n), key, "a mapping is expected here")
			return nil
		}
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := key + "." + k.Value
			if _, dup := out[k.Value]; dup {
				w.ps.add(w.at(k), sub, "the key is given twice")
				continue
			}
			out[k.Value] = w.value(v, t.Elem(), sub)
		}
		return out
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.ps.add(w.at(n), key, "a list is expected here")
			return nil
		}
		out := make([]any, 0, len(n.Content))
		mk := matchKey(t.Elem())
		for i, item := range n.Content {
			label := strconv.Itoa(i)
			if k := child(item, mk); mk != "" && k != nil && k.Kind == yaml.ScalarNode && k.Value != "" {
				label = k.Value
			}
			out = append(out, w.value(item, t.Elem(), key+"["+label+"]"))
		}
		return out
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			w.ps.add(w.at(n), key, "a string is expected here (quote it)")
			return nil
		}
		return n.Value
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			w.ps.add(w.at(n), key, "true or false is expected here")
			return nil
		}
		return b
	case reflect.Int, reflect.Int64, reflect.Int32:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			w.ps.add(w.at(n), key, "a whole number is expected here")
			return nil
		}
		return i
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			w.ps.add(w.at(n), key, "a number is expected here")
			return nil
		}
		return f
	}
	w.ps.add(w.at(n), key, "this value cannot be read")
	return nil
}

// object checks a mapping against struct t.
func (w *walker) object(n *yaml.Node, t reflect.Type, key string) map[string]any {
	if n.Kind != yaml.MappingNode {
		w.ps.add(w.at(n), key, "a mapping is expected here")
		return nil
	}
	_, fields := fieldsOf(t)
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := k.Value
		if key != "" {
			sub = key + "." + k.Value
		}
		f, ok := fields[k.Value]
		switch {
		case !ok && notYet[k.Value]:
			w.ps.add(w.at(k), sub, "unknown key (not in the format yet: it joins when its feature exists)")
			continue
		case !ok:
			w.ps.add(w.at(k), sub, "unknown key")
			continue
		}
		if _, dup := out[k.Value]; dup {
			w.ps.add(w.at(k), sub, "the key is given twice")
			continue
		}
		out[k.Value] = w.value(v, f.Type, sub)
	}
	return out
}

// anyValue turns any YAML value into plain JSON values.
func (w *walker) anyValue(n *yaml.Node, key string) any {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if !w.spend(n) {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = w.anyValue(n.Content[i+1], key+"."+n.Content[i].Value)
		}
		return out
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			out = append(out, w.anyValue(item, key))
		}
		return out
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			w.ps.add(w.at(n), key, "this value cannot be read")
			return nil
		}
		return v
	}
	w.ps.add(w.at(n), key, "this value cannot be read")
	return nil
}

// matchKey answers the key that identifies items of a list of t: slug,
// entity_id or name, the first t has ("" for none).
func matchKey(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	_, fields := fieldsOf(t)
	for _, k := range []string{"slug", "entity_id", "name"} {
		if _, ok := fields[k]; ok {
			return k
		}
	}
	return ""
}

// keyLines answers the line of each key of a mapping node.
func keyLines(n *yaml.Node) map[string]int {
	out := map[string]int{}
	if n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i].Line
	}
	return out
}

// child answers the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}
