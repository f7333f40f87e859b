package scimfilter

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Parse parses a filter. Every failure wraps ErrSyntax.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSyntax, MaxLen)
	}
	p := &parser{src: s}
	if err := p.lex(); err != nil {
		return nil, err
	}
	e, err := p.or(0, false)
	if err != nil {
		return nil, err
	}
	if !p.done() {
		return nil, p.errf("unexpected %q", p.peek().text)
	}
	return e, nil
}

// ParsePath parses a PATCH path such as `members[value eq "x"]`,
// `name.givenName` or `emails[type eq "work"].value`.
func ParsePath(s string) (*PatchPath, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSyntax, MaxLen)
	}
	s = strings.TrimSpace(s)
	open := strings.IndexByte(s, '[')
	if open < 0 {
		a, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		return &PatchPath{Attr: a}, nil
	}
	close := strings.LastIndexByte(s, ']')
	if close < open {
		return nil, fmt.Errorf("%w: unbalanced brackets in path", ErrSyntax)
	}
	a, err := parsePath(s[:open])
	if err != nil {
		return nil, err
	}
	if a.Sub != "" {
		return nil, fmt.Errorf("%w: a filter applies to a multi-valued attribute, not %q", ErrSyntax, a.String())
	}
	p := &parser{src: s[open+1 : close]}
	if err := p.lex(); err != nil {
		return nil, err
	}
	f, err := p.or(1, true)
	if err != nil {
		return nil, err
	}
	if !p.done() {
		return nil, p.errf("unexpected %q", p.peek().text)
	}
	pp := &PatchPath{Attr: a, Filter: f}
	if rest := s[close+1:]; rest != "" {
		sub, ok := strings.CutPrefix(rest, ".")
		if !ok || !nameOK(sub) {
			return nil, fmt.Errorf("%w: %q after the filter is no sub-attribute", ErrSyntax, rest)
		}
		pp.Sub = sub
	}
	return pp, nil
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
)

type token struct {
	kind tokKind
	text string // the word, or the decoded string
	pos  int
}

type parser struct {
	src   string
	toks  []token
	i     int
	nodes int
}

func (p *parser) errf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, a...)...)
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			p.toks = append(p.toks, token{tLParen, "(", i})
			i++
		case c == ')':
			p.toks = append(p.toks, token{tRParen, ")", i})
			i++
		case c == '[':
			p.toks = append(p.toks, token{tLBrack, "[", i})
			i++
		case c == ']':
			p.toks = append(p.toks, token{tRBrack, "]", i})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '"' {
					break
				}
			}
			if j >= len(s) {
				return p.errf("unterminated string at %d", i)
			}
			var str string
			if err := json.Unmarshal([]byte(s[i:j+1]), &str); err != nil {
				return p.errf("bad string at %d", i)
			}
			p.toks = append(p.toks, token{tString, str, i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{tWord, s[i:j], i})
			i = j
		}
		if len(p.toks) > 4*MaxNodes+2*MaxDepth {
			return p.errf("too many tokens")
		}
	}
	return nil
}

func (p *parser) done() bool { return p.i >= len(p.toks) }

func (p *parser) peek() token {
	if p.done() {
		return token{kind: -1, text: "end of filter", pos: len(p.src)}
	}
	return p.toks[p.i]
}

func (p *parser) keyword(k string) bool {
	t := p.peek()
	if t.kind == tWord && strings.EqualFold(t.text, k) {
		p.i++
		return true
	}
	return false
}

// or: and ("or" and)*. inner is true inside brackets, where no nested
// value path is allowed.
func (p *parser) or(depth int, inner bool) (Expr, error) {
	l, err := p.and(depth, inner)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and(depth, inner)
		if err != nil {
			return nil, err
		}
		l = &Or{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int, inner bool) (Expr, error) {
	l, err := p.unary(depth, inner)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary(depth, inner)
		if err != nil {
			return nil, err
		}
		l = &And{l, r}
	}
	return l, nil
}

func (p *parser) unary(depth int, inner bool) (Expr, error) {
	if depth >= MaxDepth {
		return nil, p.errf("nested deeper than %d", MaxDepth)
	}
	if t := p.peek(); t.kind == tWord && strings.EqualFold(t.text, "not") {
		// "not" must be followed by "(": `not (x eq 1)`.
		if p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tLParen {
			p.i++
			x, err := p.group(depth+1, inner)
			if err != nil {
				return nil, err
			}
			return &Not{x}, nil
		}
	}
	if p.peek().kind == tLParen {
		return p.group(depth+1, inner)
	}
	return p.attrExp(depth, inner)
}

func (p *parser) group(depth int, inner bool) (Expr, error) {
	p.i++ // (
	x, err := p.or(depth, inner)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tRParen {
		return nil, p.errf("expected ) at %d", p.peek().pos)
	}
	p.i++
	return x, nil
}

func (p *parser) attrExp(depth int, inner bool) (Expr, error) {
	t := p.peek()
	if t.kind != tWord {
		return nil, p.errf("expected an attribute at %d, found %q", t.pos, t.text)
	}
	p.i++
	attr, err := parsePath(t.text)
	if err != nil {
		return nil, err
	}
	if p.nodes++; p.nodes > MaxNodes {
		return nil, p.errf("more than %d comparisons", MaxNodes)
	}
	if p.peek().kind == tLBrack {
		if inner {
			return nil, p.errf("a value filter cannot nest another at %d", p.peek().pos)
		}
		if attr.Sub != "" {
			return nil, p.errf("a value filter applies to a multi-valued attribute, not %q", attr.String())
		}
		p.i++
		f, err := p.or(depth+1, true)
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRBrack {
			return nil, p.errf("expected ] at %d", p.peek().pos)
		}
		p.i++
		return &ValuePath{Attr: attr, Filter: f}, nil
	}
	ot := p.peek()
	op, ok := ops[strings.ToLower(ot.text)]
	if ot.kind != tWord || !ok {
		return nil, p.errf("expected an operator after %q, found %q", t.text, ot.text)
	}
	p.i++
	if op == OpPr {
		return &Compare{Attr: attr, Op: op}, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &Compare{Attr: attr, Op: op, Value: v}, nil
}

func (p *parser) value() (Value, error) {
	t := p.peek()
	p.i++
	switch {
	case t.kind == tString:
		return Value{Kind: KindString, Str: t.text}, nil
	case t.kind != tWord:
		return Value{}, p.errf("expected a value at %d, found %q", t.pos, t.text)
	case t.text == "true" || t.text == "false":
		return Value{Kind: KindBool, Bool: t.text == "true"}, nil
	case t.text == "null":
		return Value{Kind: KindNull}, nil
	}
	var n json.Number
	if err := json.Unmarshal([]byte(t.text), &n); err != nil || len(t.text) > 64 {
		return Value{}, p.errf("%q at %d is no value (strings take double quotes)", t.text, t.pos)
	}
	return Value{Kind: KindNumber, Num: t.text}, nil
}

// parsePath parses `[urn:...:]name[.sub]`.
func parsePath(s string) (Path, error) {
	var a Path
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		// The URN ends at the last colon; it may hold dots ("2.0").
		k := strings.LastIndexByte(s, ':')
		a.URI, s = s[:k], s[k+1:]
		if !uriOK(a.URI) {
			return Path{}, fmt.Errorf("%w: %q is no schema URN", ErrSyntax, a.URI)
		}
	}
	name, sub, hasSub := strings.Cut(s, ".")
	if !nameOK(name) || (hasSub && !nameOK(sub)) {
		return Path{}, fmt.Errorf("%w: %q is no attribute path", ErrSyntax, s)
	}
	a.Name, a.Sub = name, sub
	return a, nil
}

// nameOK: ATTRNAME = ALPHA *(nameChar), or "$ref".
func nameOK(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return false
		}
	}
	return true
}

func uriOK(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":.-_", c) >= 0) {
			return false
		}
	}
	return true
}
