// Package scimfilter parses SCIM 2.0 filter expressions and attribute paths
// (RFC 7644 section 3.4.2.2 and 3.5.2) into a small syntax tree. It knows
// no attribute names: the SQL store translates the tree for its tables and
// the SCIM package evaluates PATCH path filters in memory. Input is bounded
// (length, depth, node count), so a hostile filter costs little to refuse.
package scimfilter

import (
	"errors"
	"strings"
)

// Limits on what Parse accepts.
const (
	MaxLen   = 4096 // bytes of filter text
	MaxDepth = 16   // nesting of parentheses, brackets and not
	MaxNodes = 64   // comparisons in one filter
)

// ErrSyntax wraps every parse failure; the message says where and why.
var ErrSyntax = errors.New("invalid filter")

// Expr is a node of a parsed filter: *And, *Or, *Not, *Compare or *ValuePath.
type Expr interface{ isExpr() }

// And matches when both sides match.
type And struct{ L, R Expr }

// Or matches when either side matches.
type Or struct{ L, R Expr }

// Not matches when X does not.
type Not struct{ X Expr }

// Op is a comparison operator, lower case.
type Op string

// The operators of RFC 7644 table 3.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpPr Op = "pr"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
)

var ops = map[string]Op{"eq": OpEq, "ne": OpNe, "co": OpCo, "sw": OpSw, "ew": OpEw,
	"pr": OpPr, "gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe}

// Compare is `attr op value`, or `attr pr` (Value is then the zero Value).
type Compare struct {
	Attr  Path
	Op    Op
	Value Value
}

// ValuePath is `attr[filter]`: some element of the multi-valued attribute
// Attr matches Filter, whose paths name Attr's sub-attributes.
type ValuePath struct {
	Attr   Path
	Filter Expr
}

func (*And) isExpr()       {}
func (*Or) isExpr()        {}
func (*Not) isExpr()       {}
func (*Compare) isExpr()   {}
func (*ValuePath) isExpr() {}

// Path names an attribute: an optional schema URN, the attribute and an
// optional sub-attribute ("name.givenName"). Name and Sub keep the case
// the client wrote; attribute names are case-insensitive (RFC 7643 2.1),
// so compare them with strings.EqualFold or Key.
type Path struct {
	URI  string
	Name string
	Sub  string
}

// Key is the path's case-folded "name" or "name.sub", without the URN.
func (p Path) Key() string {
	if p.Sub == "" {
		return strings.ToLower(p.Name)
	}
	return strings.ToLower(p.Name + "." + p.Sub)
}

// String writes the path back as SCIM text.
func (p Path) String() string {
	s := p.Name
	if p.Sub != "" {
		s += "." + p.Sub
	}
	if p.URI != "" {
		s = p.URI + ":" + s
	}
	return s
}

// Kind is the JSON type of a comparison value.
type Kind int

// Value kinds.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
)

// Value is a comparison value. Num holds a number's text as written
// (validated as a JSON number).
type Value struct {
	Kind Kind
	Str  string
	Num  string
	Bool bool
}

// PatchPath is a PATCH operation's path (RFC 7644 3.5.2): an attribute,
// optionally narrowed by a filter on its values, optionally followed by a
// sub-attribute of the matching values (`emails[type eq "work"].value`).
type PatchPath struct {
	Attr   Path
	Filter Expr // nil without brackets
	Sub    string
}
