package ldap

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Bounds of a search filter, checked before anything reaches the store.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 12
	maxFilterNodes = 64
	maxValueLen    = 512
)

// attrRE is an attribute description (RFC 4512 section 2.5): a name or an
// OID, with options. Anything else in a filter is refused.
var attrRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]{0,63}|[0-9]{1,9}(?:\.[0-9]{1,9}){0,31})(?:;[A-Za-z0-9-]{1,32}){0,4}$`)

// errFilter is the answer to a filter that does not parse or is out of
// bounds; the client is told that, never more.
var errFilter = errors.New("ldap: invalid or too complex filter")

// node is a parsed search filter: an operator, the attribute type in lower
// case and the raw assertion value.
type node struct {
	op      store.DirOp // DirAnd, DirOr, DirNot, DirEq, DirGE, DirLE, DirPresent, DirSubstr; DirFalse for unsupported
	attr    string
	value   string
	initial string
	any     []string
	final   string
	sub     []node
}

// parseFilter parses the RFC 4515 text of a filter (gldap hands filters
// over as text, decompiled from the request's BER) into a node tree.
func parseFilter(s string) (node, error) {
	if len(s) > maxFilterLen {
		return node{}, errFilter
	}
	p, err := goldap.CompileFilter(s)
	if err != nil {
		return node{}, errFilter
	}
	count := 0
	return fromPacket(p, 0, &count)
}

// fromPacket walks a filter's BER packet (RFC 4511 section 4.5.1).
func fromPacket(p *ber.Packet, depth int, count *int) (node, error) {
	*count++
	if p == nil || depth > maxFilterDepth || *count > maxFilterNodes || p.ClassType != ber.ClassContext {
		return node{}, errFilter
	}
	str := func(q *ber.Packet) (string, error) {
		if q == nil || q.Data == nil || q.Data.Len() > maxValueLen {
			return "", errFilter
		}
		return ber.DecodeString(q.Data.Bytes()), nil
	}
	attr := func(q *ber.Packet) (string, error) {
		a, err := str(q)
		if err != nil || !attrRE.MatchString(a) {
			return "", errFilter
		}
		return a, nil
	}
	pair := func(op store.DirOp) (node, error) {
		if len(p.Children) != 2 {
			return node{}, errFilter
		}
		a, err := attr(p.Children[0])
		if err != nil {
			return node{}, err
		}
		v, err := str(p.Children[1])
		if err != nil {
			return node{}, err
		}
		return node{op: op, attr: strings.ToLower(a), value: v}, nil
	}
	switch p.Tag {
	case goldap.FilterAnd, goldap.FilterOr, goldap.FilterNot:
		op := map[ber.Tag]store.DirOp{goldap.FilterAnd: store.DirAnd, goldap.FilterOr: store.DirOr, goldap.FilterNot: store.DirNot}[p.Tag]
		if op == store.DirNot && len(p.Children) != 1 {
			return node{}, errFilter
		}
		n := node{op: op}
		for _, c := range p.Children {
			sub, err := fromPacket(c, depth+1, count)
			if err != nil {
				return node{}, err
			}
			n.sub = append(n.sub, sub)
		}
		return n, nil
	case goldap.FilterEqualityMatch, goldap.FilterApproxMatch:
		// Approximate matching is equality here.
		return pair(store.DirEq)
	case goldap.FilterGreaterOrEqual:
		return pair(store.DirGE)
	case goldap.FilterLessOrEqual:
		return pair(store.DirLE)
	case goldap.FilterPresent:
		a, err := attr(p)
		if err != nil {
			return node{}, err
		}
		return node{op: store.DirPresent, attr: strings.ToLower(a)}, nil
	case goldap.FilterSubstrings:
		if len(p.Children) != 2 || p.Children[1] == nil {
			return node{}, errFilter
		}
		a, err := attr(p.Children[0])
		if err != nil {
			return node{}, err
		}
		n := node{op: store.DirSubstr, attr: strings.ToLower(a)}
		for _, c := range p.Children[1].Children {
			*count++
			v, err := str(c)
			if err != nil || *count > maxFilterNodes {
				return node{}, errFilter
			}
			switch c.Tag {
			case goldap.FilterSubstringsInitial:
				n.initial = v
			case goldap.FilterSubstringsAny:
				if v != "" {
					n.any = append(n.any, v)
				}
			case goldap.FilterSubstringsFinal:
				n.final = v
			default:
				return node{}, errFilter
			}
		}
		if n.initial == "" && n.final == "" && len(n.any) == 0 {
			return node{}, errFilter
		}
		return n, nil
	case goldap.FilterExtensibleMatch:
		// Extensible matching is not offered: it matches nothing.
		return node{op: store.DirFalse}, nil
	}
	return node{}, errFilter
}

// fold is how assertion values meet the directory's lookup forms.
func fold(s string) string { return directory.NormalizeUsername(s) }

// entryKind is what a filter is translated for.
type entryKind int

const (
	kindUser entryKind = iota
	kindGroup
)

var (
	userClasses  = []string{"top", "person", "organizationalperson", "inetorgperson"}
	groupClasses = []string{"top", "groupofnames"}
)

var userAttrs = map[string]store.DirField{
	"uid": store.FieldUID, "cn": store.FieldDisplayName, "displayname": store.FieldDisplayName,
	"mail": store.FieldEmail, "givenname": store.FieldGivenName, "sn": store.FieldFamilyName,
	"entryuuid": store.FieldID,
}

var groupAttrs = map[string]store.DirField{"cn": store.FieldName, "entryuuid": store.FieldID}

var (
	dirFalse = store.DirFilter{Op: store.DirFalse}
	dirTrue  = store.DirFilter{Op: store.DirTrue}
)

// toStore translates n for records of kind in tenant slug. Attributes the
// kind does not have are absent: their tests are false (so a negation of
// one is true).
func (n node) toStore(kind entryKind, slug string) store.DirFilter {
	switch n.op {
	case store.DirFalse:
		return dirFalse
	case store.DirAnd, store.DirOr, store.DirNot:
		f := store.DirFilter{Op: n.op}
		for _, s := range n.sub {
			f.Sub = append(f.Sub, s.toStore(kind, slug))
		}
		return simplify(f)
	}
	if n.attr == "objectclass" {
		classes := userClasses
		if kind == kindGroup {
			classes = groupClasses
		}
		if matchValues(n, classes) {
			return dirTrue
		}
		return dirFalse
	}
	attrs := userAttrs
	if kind == kindGroup {
		attrs = groupAttrs
	}
	if field, ok := attrs[n.attr]; ok {
		f := store.DirFilter{Op: n.op, Field: field, Value: fold(n.value), Initial: fold(n.initial), Final: fold(n.final)}
		for _, a := range n.any {
			f.Any = append(f.Any, fold(a))
		}
		if n.op == store.DirPresent && (field == store.FieldID || field == store.FieldUID || field == store.FieldDisplayName ||
			field == store.FieldEmail || field == store.FieldName) {
			return dirTrue // always set
		}
		return f
	}
	switch {
	case n.attr == "memberof":
		return n.membership(store.FieldMemberOf, slug, func(d dnRef) (string, bool) { return d.value, d.kind == dnGroup })
	case n.attr == "member" && kind == kindGroup:
		if n.op == store.DirPresent {
			return store.DirFilter{Op: store.DirOr, Sub: []store.DirFilter{
				{Op: store.DirPresent, Field: store.FieldMemberUID}, {Op: store.DirPresent, Field: store.FieldMemberGroup}}}
		}
		if n.op != store.DirEq {
			return dirFalse
		}
		d, err := parseDN(n.value)
		if err != nil || d.tenant != slug {
			return dirFalse
		}
		switch d.kind {
		case dnUser:
			return store.DirFilter{Op: store.DirEq, Field: store.FieldMemberUID, Value: fold(d.value)}
		case dnGroup:
			return store.DirFilter{Op: store.DirEq, Field: store.FieldMemberGroup, Value: fold(d.value)}
		}
	}
	return dirFalse
}

// membership translates an assertion on a DN-valued attribute: presence,
// or equality with a DN of this tenant that pick accepts.
func (n node) membership(field store.DirField, slug string, pick func(dnRef) (string, bool)) store.DirFilter {
	switch n.op {
	case store.DirPresent:
		return store.DirFilter{Op: store.DirPresent, Field: field}
	case store.DirEq:
		d, err := parseDN(n.value)
		if err != nil || d.tenant != slug {
			return dirFalse
		}
		if v, ok := pick(d); ok {
			return store.DirFilter{Op: store.DirEq, Field: field, Value: fold(v)}
		}
	}
	return dirFalse
}

// simplify folds constant operands, so a filter that cannot match a kind
// costs no query.
func simplify(f store.DirFilter) store.DirFilter {
	switch f.Op {
	case store.DirNot:
		switch f.Sub[0].Op {
		case store.DirTrue:
			return dirFalse
		case store.DirFalse:
			return dirTrue
		}
		return f
	case store.DirAnd, store.DirOr:
		absorb, neutral := store.DirFalse, store.DirTrue
		if f.Op == store.DirOr {
			absorb, neutral = store.DirTrue, store.DirFalse
		}
		var keep []store.DirFilter
		for _, s := range f.Sub {
			switch s.Op {
			case absorb:
				return store.DirFilter{Op: absorb}
			case neutral:
				continue
			}
			keep = append(keep, s)
		}
		switch len(keep) {
		case 0:
			return store.DirFilter{Op: neutral}
		case 1:
			return keep[0]
		}
		return store.DirFilter{Op: f.Op, Sub: keep}
	}
	return f
}

// matches evaluates n in memory against an entry's attributes (keys in
// lower case): used only for the few fixed entries of the tree (the tenant
// and its organisational units), never for directory records.
func (n node) matches(attrs map[string][]string) bool {
	switch n.op {
	case store.DirAnd:
		for _, s := range n.sub {
			if !s.matches(attrs) {
				return false
			}
		}
		return true
	case store.DirOr:
		for _, s := range n.sub {
			if s.matches(attrs) {
				return true
			}
		}
		return false
	case store.DirNot:
		return !n.sub[0].matches(attrs)
	case store.DirFalse:
		return false
	}
	vals := attrs[n.attr]
	var folded []string
	for _, v := range vals {
		folded = append(folded, fold(v))
	}
	return matchValues(n, folded)
}

// matchValues tests a leaf against folded values.
func matchValues(n node, vals []string) bool {
	if n.op == store.DirPresent {
		return len(vals) > 0
	}
	v := fold(n.value)
	return slices.ContainsFunc(vals, func(have string) bool {
		switch n.op {
		case store.DirEq:
			return have == v
		case store.DirGE:
			return have >= v
		case store.DirLE:
			return have <= v
		case store.DirSubstr:
			return substrMatch(have, fold(n.initial), n.any, fold(n.final))
		}
		return false
	})
}

func substrMatch(s, initial string, any []string, final string) bool {
	if !strings.HasPrefix(s, initial) {
		return false
	}
	s = s[len(initial):]
	for _, a := range any {
		i := strings.Index(s, fold(a))
		if i < 0 {
			return false
		}
		s = s[i+len(fold(a)):]
	}
	return strings.HasSuffix(s, final) && len(s) >= len(final)
}
