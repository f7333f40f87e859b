package scim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// maxOps bounds the operations of one PATCH.
const maxOps = 100

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// decodePatch reads a PatchOp body. Op names are compared without case:
// Entra ID sends "Replace", "Add", "Remove".
func decodePatch(r *req) ([]patchOp, error) {
	var body struct {
		Schemas    []string  `json:"schemas"`
		Operations []patchOp `json:"Operations"`
	}
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	if len(body.Schemas) > 0 && !slices.Contains(body.Schemas, URIPatch) {
		return nil, bad("invalidSyntax", "schemas must name "+URIPatch+".")
	}
	if len(body.Operations) == 0 || len(body.Operations) > maxOps {
		return nil, bad("invalidSyntax", fmt.Sprintf("A PATCH has 1 to %d Operations.", maxOps))
	}
	for i := range body.Operations {
		op := &body.Operations[i]
		op.Op = strings.ToLower(strings.TrimSpace(op.Op))
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return nil, bad("invalidSyntax", "op is add, replace or remove.")
		}
	}
	return body.Operations, nil
}

// target is where a path points in a document.
type target struct {
	container map[string]any // the document, or its enterprise extension object
	attr      *attrDef
	sub       *attrDef            // sub-attribute, or nil
	filter    scimfilter.Expr     // value filter, or nil
	subAfter  *attrDef            // sub-attribute after the filter, or nil
	filterEq  *scimfilter.Compare // the filter when it is one `x eq "v"`
}

// resolve finds path in doc under schema def.
func resolve(def *attrDef, doc map[string]any, path string) (*target, error) {
	if strings.EqualFold(strings.TrimSpace(path), URIEnterprise) {
		ext := def.sub(URIEnterprise)
		if ext == nil {
			return nil, bad("invalidPath", "Unknown schema in path.")
		}
		return &target{container: doc, attr: ext}, nil
	}
	pp, err := scimfilter.ParsePath(path)
	if err != nil {
		return nil, syntaxError("invalidPath", "path", err)
	}
	t := &target{container: doc, filter: pp.Filter}
	schema := def
	switch {
	case pp.Attr.URI == "":
	case strings.EqualFold(pp.Attr.URI, URIUser) && def == userAttrs, strings.EqualFold(pp.Attr.URI, URIGroup) && def == groupAttrs:
	case strings.EqualFold(pp.Attr.URI, URIEnterprise) && def == userAttrs:
		schema = def.sub(URIEnterprise)
		ext, _ := doc[URIEnterprise].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			doc[URIEnterprise] = ext
		}
		t.container = ext
	default:
		return nil, bad("invalidPath", "Unknown schema "+pp.Attr.URI+".")
	}
	if t.attr = schema.sub(pp.Attr.Name); t.attr == nil {
		return nil, bad("invalidPath", "Unknown attribute "+pp.Attr.Name+".")
	}
	if t.attr.ReadOnly || t.attr.Name == "schemas" {
		return nil, bad("mutability", t.attr.Name+" is read-only.")
	}
	if pp.Attr.Sub != "" {
		if t.sub = t.attr.sub(pp.Attr.Sub); t.sub == nil {
			return nil, bad("invalidPath", "Unknown attribute "+pp.Attr.String()+".")
		}
	}
	if t.filter != nil && !t.attr.Multi {
		return nil, bad("invalidPath", t.attr.Name+" is not multi-valued.")
	}
	if pp.Sub != "" {
		if t.subAfter = t.attr.sub(pp.Sub); t.subAfter == nil {
			return nil, bad("invalidPath", "Unknown sub-attribute "+pp.Sub+".")
		}
	}
	if c, ok := t.filter.(*scimfilter.Compare); ok && c.Op == scimfilter.OpEq && c.Value.Kind == scimfilter.KindString {
		t.filterEq = c
	}
	return t, nil
}

// applyOp applies one PATCH operation to doc.
func applyOp(def *attrDef, doc map[string]any, op patchOp) error {
	if strings.TrimSpace(op.Path) == "" {
		if op.Op == "remove" {
			return bad("noTarget", "remove needs a path.")
		}
		// No path: the value is an object of attribute paths and values
		// (Entra ID and Okta both send this shape).
		m, ok := op.Value.(map[string]any)
		if !ok {
			return bad("invalidValue", "Without a path, value is an object of attributes.")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys) // deterministic when two keys name one attribute
		for _, k := range keys {
			if err := applyPath(def, doc, op.Op, k, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	return applyPath(def, doc, op.Op, op.Path, op.Value)
}

func applyPath(def *attrDef, doc map[string]any, op, path string, value any) error {
	if strings.EqualFold(path, "id") || strings.EqualFold(path, "meta") || strings.EqualFold(path, "schemas") {
		// Okta repeats the id in a no-path replace; an unchanged id is no change.
		if s, ok := value.(string); ok && op != "remove" && strings.EqualFold(path, "id") && s == doc["id"] {
			return nil
		}
		return bad("mutability", path+" is read-only.")
	}
	t, err := resolve(def, doc, path)
	if err != nil {
		return err
	}
	if op == "remove" {
		return t.remove(value)
	}
	return t.set(op, value)
}

func norm(def *attrDef, v any, name string) (any, error) {
	if v == nil {
		return nil, bad("invalidValue", name+" needs a value.")
	}
	return normalize(def, v, name)
}

func (t *target) set(op string, value any) error {
	a := t.attr
	switch {
	case t.filter != nil:
		elems, _ := t.container[a.Name].([]any)
		one := *a
		one.Multi = false
		var nv any
		var err error
		if t.subAfter != nil {
			nv, err = norm(t.subAfter, value, a.Name+"."+t.subAfter.Name)
		} else {
			nv, err = norm(&one, value, a.Name)
		}
		if err != nil {
			return err
		}
		matched := false
		for _, e := range elems {
			m, _ := e.(map[string]any)
			ok, err := evalFilter(t.filter, m)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			matched = true
			if t.subAfter != nil {
				m[t.subAfter.Name] = nv
			} else {
				for k, v := range nv.(map[string]any) {
					m[k] = v
				}
			}
		}
		if !matched {
			// Entra ID replaces `emails[type eq "work"].value` on a user
			// without such an email: add the element the path describes.
			if t.filterEq == nil || t.filterEq.Attr.Sub != "" || a.sub(t.filterEq.Attr.Name) == nil {
				return bad("noTarget", "No value matches the path's filter.")
			}
			el := map[string]any{a.sub(t.filterEq.Attr.Name).Name: t.filterEq.Value.Str}
			if t.subAfter != nil {
				el[t.subAfter.Name] = nv
			} else {
				for k, v := range nv.(map[string]any) {
					el[k] = v
				}
			}
			t.container[a.Name] = append(elems, el)
		}
		return nil
	case t.sub != nil && a.Multi:
		nv, err := norm(t.sub, value, a.Name+"."+t.sub.Name)
		if err != nil {
			return err
		}
		elems, _ := t.container[a.Name].([]any)
		if len(elems) == 0 {
			t.container[a.Name] = []any{map[string]any{t.sub.Name: nv}}
		}
		for _, e := range elems {
			if m, ok := e.(map[string]any); ok {
				m[t.sub.Name] = nv
			}
		}
		return nil
	case t.sub != nil:
		nv, err := norm(t.sub, value, a.Name+"."+t.sub.Name)
		if err != nil {
			return err
		}
		m, _ := t.container[a.Name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			t.container[a.Name] = m
		}
		m[t.sub.Name] = nv
		return nil
	}
	nv, err := norm(a, value, a.Name)
	if err != nil {
		return err
	}
	switch {
	case a.Multi && op == "add":
		old, _ := t.container[a.Name].([]any)
		for _, v := range nv.([]any) {
			if !containsValue(old, v) {
				old = append(old, v)
			}
		}
		t.container[a.Name] = old
	case a.Type == "complex" && !a.Multi:
		// Add and replace of a complex attribute both merge: sub-attributes
		// not named stay (RFC 7644 3.5.2.3).
		m, _ := t.container[a.Name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			t.container[a.Name] = m
		}
		for k, v := range nv.(map[string]any) {
			m[k] = v
		}
	default:
		t.container[a.Name] = nv
	}
	return nil
}

func containsValue(list []any, v any) bool {
	b := mustJSON(v)
	for _, x := range list {
		if string(mustJSON(x)) == string(b) {
			return true
		}
	}
	return false
}

func (t *target) remove(value any) error {
	a := t.attr
	switch {
	case t.filter != nil:
		elems, _ := t.container[a.Name].([]any)
		keep := elems[:0:0]
		for _, e := range elems {
			m, _ := e.(map[string]any)
			ok, err := evalFilter(t.filter, m)
			if err != nil {
				return err
			}
			switch {
			case !ok:
				keep = append(keep, e)
			case t.subAfter != nil:
				delete(m, t.subAfter.Name)
				keep = append(keep, m)
			}
		}
		t.container[a.Name] = keep
	case t.sub != nil && a.Multi:
		elems, _ := t.container[a.Name].([]any)
		for _, e := range elems {
			if m, ok := e.(map[string]any); ok {
				delete(m, t.sub.Name)
			}
		}
	case t.sub != nil:
		if m, ok := t.container[a.Name].(map[string]any); ok {
			delete(m, t.sub.Name)
		}
	case a.Multi && value != nil:
		// remove with a value array removes those values (Entra ID).
		nv, err := normalize(a, value, a.Name)
		if err != nil {
			return err
		}
		elems, _ := t.container[a.Name].([]any)
		var keep []any
		for _, e := range elems {
			if !matchesAny(e, nv.([]any)) {
				keep = append(keep, e)
			}
		}
		t.container[a.Name] = keep
	default:
		delete(t.container, a.Name)
	}
	return nil
}

// matchesAny: e has the value of one of vs (by "value", else whole).
func matchesAny(e any, vs []any) bool {
	em, _ := e.(map[string]any)
	for _, v := range vs {
		vm, _ := v.(map[string]any)
		if em != nil && vm != nil && vm["value"] != nil {
			if strings.EqualFold(fmt.Sprint(em["value"]), fmt.Sprint(vm["value"])) {
				return true
			}
			continue
		}
		if string(mustJSON(e)) == string(mustJSON(v)) {
			return true
		}
	}
	return false
}

// evalFilter evaluates a value filter on one element, as the store does
// in SQL: strings case-insensitively, booleans also from "True"/"False".
func evalFilter(e scimfilter.Expr, m map[string]any) (bool, error) {
	switch e := e.(type) {
	case *scimfilter.And:
		l, err := evalFilter(e.L, m)
		if err != nil || !l {
			return false, err
		}
		return evalFilter(e.R, m)
	case *scimfilter.Or:
		l, err := evalFilter(e.L, m)
		if err != nil || l {
			return l, err
		}
		return evalFilter(e.R, m)
	case *scimfilter.Not:
		x, err := evalFilter(e.X, m)
		return !x, err
	case *scimfilter.Compare:
		var v any
		for k, x := range m {
			if strings.EqualFold(k, e.Attr.Name) {
				v = x
			}
		}
		return compareValue(v, e.Op, e.Value)
	}
	return false, bad("invalidFilter", "A value filter cannot nest another.")
}

func compareValue(v any, op scimfilter.Op, want scimfilter.Value) (bool, error) {
	if op == scimfilter.OpPr {
		return v != nil && v != "", nil
	}
	switch x := v.(type) {
	case bool:
		b, ok := want.Bool, want.Kind == scimfilter.KindBool
		if want.Kind == scimfilter.KindString && (strings.EqualFold(want.Str, "true") || strings.EqualFold(want.Str, "false")) {
			b, ok = strings.EqualFold(want.Str, "true"), true
		}
		if !ok || (op != scimfilter.OpEq && op != scimfilter.OpNe) {
			return false, bad("invalidFilter", "Booleans take eq or ne with true or false.")
		}
		return (x == b) == (op == scimfilter.OpEq), nil
	case nil:
		return op == scimfilter.OpNe, nil
	}
	var have string
	switch x := v.(type) {
	case string:
		have = x
	case json.Number:
		have = x.String()
	default:
		return false, nil
	}
	if want.Kind != scimfilter.KindString {
		return false, bad("invalidFilter", "Strings compare with a string.")
	}
	h, w := strings.ToLower(have), strings.ToLower(want.Str)
	switch op {
	case scimfilter.OpEq:
		return h == w, nil
	case scimfilter.OpNe:
		return h != w, nil
	case scimfilter.OpCo:
		return strings.Contains(h, w), nil
	case scimfilter.OpSw:
		return strings.HasPrefix(h, w), nil
	case scimfilter.OpEw:
		return strings.HasSuffix(h, w), nil
	case scimfilter.OpGt:
		return h > w, nil
	case scimfilter.OpGe:
		return h >= w, nil
	case scimfilter.OpLt:
		return h < w, nil
	case scimfilter.OpLe:
		return h <= w, nil
	}
	return false, nil
}
