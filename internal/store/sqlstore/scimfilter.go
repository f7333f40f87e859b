package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// SCIM filters become SQL here, with every value a bound parameter. The
// attribute names a client may use are the keys of the maps below; any
// other name is store.ErrBadFilter. SQL fragments come only from these
// maps, never from the filter text. String comparisons are
// case-insensitive (SCIM's caseExact=false): both sides are lower-cased
// (stored lower-case columns as they are) and compared bytewise, COLLATE
// "C" on PostgreSQL, so both backends order and match alike.

type attrKind int

const (
	kString attrKind = iota
	kBool
	kTime
)

// scalar is a single-valued attribute: a column, or a string/bool at a
// JSON path of the attributes column (path elements are fixed names).
type scalar struct {
	kind    attrKind
	col     string   // a column expression; "" for JSON
	lowered bool     // col already holds lower-case text
	json    []string // the JSON path inside u.attributes
}

// multi is a multi-valued attribute: elements of a JSON array, or of a
// table (group members); sub-attributes map to element expressions.
type multi struct {
	table string              // a table of elements (user_emails), or ""
	json  []string            // the array's JSON path, or nil for tables and members
	subs  map[string]attrKind // allowed sub-attributes (lower case)
	def   string              // sub-attribute a bare comparison means ("value")
	synth map[string]string   // columns standing in for an absent array
}

type resourceMap struct {
	alias   string // table alias ("u", "g")
	scalars map[string]scalar
	multis  map[string]multi
}

const (
	uriUser       = "urn:ietf:params:scim:schemas:core:2.0:user"
	uriGroup      = "urn:ietf:params:scim:schemas:core:2.0:group"
	uriEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
)

func sj(path ...string) scalar { return scalar{kind: kString, json: append([]string{"scim"}, path...)} }

var userMap = &resourceMap{
	alias: "u",
	scalars: map[string]scalar{
		"id":                      {kind: kString, col: "u.id", lowered: true},
		"username":                {kind: kString, col: uidExpr, lowered: true}, // as shown: the email when there is no username
		"name.givenname":          {kind: kString, col: "u.given_name_lc", lowered: true},
		"name.familyname":         {kind: kString, col: "u.family_name_lc", lowered: true},
		"locale":                  {kind: kString, col: "u.locale"},
		"active":                  {kind: kBool, col: "u.status = 'active'"},
		"meta.created":            {kind: kTime, col: "u.created_at"},
		"meta.lastmodified":       {kind: kTime, col: "u.updated_at"},
		"externalid":              sj("externalId"),
		"displayname":             sj("displayName"),
		"nickname":                sj("nickName"),
		"title":                   sj("title"),
		"usertype":                sj("userType"),
		"preferredlanguage":       sj("preferredLanguage"),
		"timezone":                sj("timezone"),
		"profileurl":              sj("profileUrl"),
		"name.formatted":          sj("name", "formatted"),
		"name.middlename":         sj("name", "middleName"),
		"name.honorificprefix":    sj("name", "honorificPrefix"),
		"name.honorificsuffix":    sj("name", "honorificSuffix"),
		"ent:employeenumber":      sj("enterprise", "employeeNumber"),
		"ent:costcenter":          sj("enterprise", "costCenter"),
		"ent:organization":        sj("enterprise", "organization"),
		"ent:division":            sj("enterprise", "division"),
		"ent:department":          sj("enterprise", "department"),
		"ent:manager.value":       sj("enterprise", "manager", "value"),
		"ent:manager.displayname": sj("enterprise", "manager", "displayName"),
	},
	multis: map[string]multi{
		// Every address of a user is a row of user_emails (0005_scim.sql).
		"emails": {table: "user_emails", def: "value",
			subs: map[string]attrKind{"value": kString, "type": kString, "display": kString, "primary": kBool}},
		"phonenumbers": {json: []string{"scim", "phoneNumbers"}, def: "value",
			subs:  map[string]attrKind{"value": kString, "type": kString, "display": kString, "primary": kBool},
			synth: map[string]string{"value": "NULLIF(u.phone, '')"}},
	},
}

var groupMap = &resourceMap{
	alias: "g",
	scalars: map[string]scalar{
		"id":                {kind: kString, col: "g.id", lowered: true},
		"displayname":       {kind: kString, col: "g.name"},
		"meta.created":      {kind: kTime, col: "g.created_at"},
		"meta.lastmodified": {kind: kTime, col: "g.updated_at"},
	},
	multis: map[string]multi{
		"members": {def: "value", subs: map[string]attrKind{"value": kString, "type": kString}},
	},
}

func badFilter(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrBadFilter}, a...)...)
}

// translator writes one filter's SQL into b.
type translator struct {
	b      *builder
	pg     bool
	m      *resourceMap
	tenant string // the tenant's placeholder
}

// key resolves a path's schema URN: core attributes with or without
// their URN, enterprise ones with it.
func (t *translator) key(p scimfilter.Path) (string, error) {
	switch strings.ToLower(p.URI) {
	case "":
		return p.Key(), nil
	case uriUser:
		if t.m == userMap {
			return p.Key(), nil
		}
	case uriGroup:
		if t.m == groupMap {
			return p.Key(), nil
		}
	case uriEnterprise:
		if t.m == userMap {
			return "ent:" + p.Key(), nil
		}
	}
	return "", badFilter("unknown schema %q", p.URI)
}

func (t *translator) expr(e scimfilter.Expr) (string, error) {
	switch e := e.(type) {
	case *scimfilter.And:
		return t.binary(e.L, e.R, " AND ")
	case *scimfilter.Or:
		return t.binary(e.L, e.R, " OR ")
	case *scimfilter.Not:
		x, err := t.expr(e.X)
		if err != nil {
			return "", err
		}
		return "(NOT COALESCE(" + x + ", FALSE))", nil
	case *scimfilter.Compare:
		k, err := t.key(e.Attr)
		if err != nil {
			return "", err
		}
		if s, ok := t.m.scalars[k]; ok {
			return t.compare(t.scalarExpr(s), s.kind, s.lowered, e.Op, e.Value, e.Attr)
		}
		// `emails co "x"` and `emails.value co "x"` mean
		// `emails[value co "x"]`.
		name, sub, _ := strings.Cut(k, ".")
		if m, ok := t.m.multis[name]; ok {
			if sub == "" {
				sub = m.def
			}
			inner := &scimfilter.Compare{Attr: scimfilter.Path{Name: sub}, Op: e.Op, Value: e.Value}
			return t.valuePath(name, m, inner)
		}
		return "", badFilter("%q cannot be filtered on", e.Attr.String())
	case *scimfilter.ValuePath:
		k, err := t.key(e.Attr)
		if err != nil {
			return "", err
		}
		m, ok := t.m.multis[k]
		if !ok {
			return "", badFilter("%q is not a multi-valued attribute", e.Attr.String())
		}
		return t.valuePath(k, m, e.Filter)
	}
	return "", badFilter("unknown expression")
}

func (t *translator) binary(l, r scimfilter.Expr, op string) (string, error) {
	a, err := t.expr(l)
	if err != nil {
		return "", err
	}
	b, err := t.expr(r)
	if err != nil {
		return "", err
	}
	return "(" + a + op + b + ")", nil
}

// jsonText is the text at a fixed JSON path of column col.
func (t *translator) jsonText(col string, path []string) string {
	if t.pg {
		return "(" + col + " #>> '{" + strings.Join(path, ",") + "}')"
	}
	return "json_extract(" + col + ", '$." + strings.Join(path, ".") + "')"
}

func (t *translator) scalarExpr(s scalar) string {
	if s.col != "" {
		return s.col
	}
	return t.jsonText(t.m.alias+".attributes", s.json)
}

// compare is one leaf. It may be NULL (a missing attribute), which WHERE,
// AND and OR treat as false; NOT is the one place where NULL and false
// differ, so every NOT wraps its operand in COALESCE(x, FALSE). Leaves stay
// bare so that indexes apply (COALESCE around a column hides its index).
func (t *translator) compare(x string, kind attrKind, lowered bool, op scimfilter.Op, v scimfilter.Value, attr scimfilter.Path) (string, error) {
	var sql string
	switch kind {
	case kString:
		if op == scimfilter.OpPr {
			sql = x + " IS NOT NULL AND " + x + " <> ''"
			break
		}
		if v.Kind != scimfilter.KindString {
			return "", badFilter("%q compares with a string", attr.String())
		}
		l := x
		if !lowered {
			l = "lower(" + x + ")"
		}
		if t.pg {
			l = "(" + l + `) COLLATE "C"`
		}
		val := strings.ToLower(v.Str)
		switch op {
		case scimfilter.OpEq:
			sql = l + " = " + t.b.arg(val)
		case scimfilter.OpNe:
			sql = "NOT COALESCE(" + l + " = " + t.b.arg(val) + ", FALSE)"
		case scimfilter.OpCo:
			sql = l + " LIKE " + t.b.arg("%"+likeEscape(val)+"%") + ` ESCAPE '\'`
		case scimfilter.OpSw:
			sql = l + " LIKE " + t.b.arg(likeEscape(val)+"%") + ` ESCAPE '\'`
		case scimfilter.OpEw:
			sql = l + " LIKE " + t.b.arg("%"+likeEscape(val)) + ` ESCAPE '\'`
		case scimfilter.OpGt:
			sql = l + " > " + t.b.arg(val)
		case scimfilter.OpGe:
			sql = l + " >= " + t.b.arg(val)
		case scimfilter.OpLt:
			sql = l + " < " + t.b.arg(val)
		case scimfilter.OpLe:
			sql = l + " <= " + t.b.arg(val)
		}
	case kBool:
		if op == scimfilter.OpPr {
			sql = x + " IS NOT NULL"
			break
		}
		b, ok := boolValue(v)
		if !ok || (op != scimfilter.OpEq && op != scimfilter.OpNe) {
			return "", badFilter("%q takes eq or ne with true or false", attr.String())
		}
		if b == (op == scimfilter.OpEq) {
			sql = x
		} else {
			sql = "NOT COALESCE(" + x + ", FALSE)"
		}
	case kTime:
		if op == scimfilter.OpPr {
			return "TRUE", nil
		}
		if v.Kind != scimfilter.KindString {
			return "", badFilter("%q compares with a date-time string", attr.String())
		}
		at, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			return "", badFilter("%q is no RFC 3339 date-time", v.Str)
		}
		cmp := map[scimfilter.Op]string{scimfilter.OpEq: " = ", scimfilter.OpNe: " <> ", scimfilter.OpGt: " > ",
			scimfilter.OpGe: " >= ", scimfilter.OpLt: " < ", scimfilter.OpLe: " <= "}[op]
		if cmp == "" {
			return "", badFilter("%q takes eq, ne, gt, ge, lt or le", attr.String())
		}
		sql = x + cmp + t.b.arg(at.UnixMicro())
	}
	return "(" + sql + ")", nil
}

// boolValue accepts true/false and, as Entra ID sends them, "True"/"False".
func boolValue(v scimfilter.Value) (bool, bool) {
	switch {
	case v.Kind == scimfilter.KindBool:
		return v.Bool, true
	case v.Kind == scimfilter.KindString && strings.EqualFold(v.Str, "true"):
		return true, true
	case v.Kind == scimfilter.KindString && strings.EqualFold(v.Str, "false"):
		return false, true
	}
	return false, false
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// valuePath: some element of the multi-valued attribute matches f.
func (t *translator) valuePath(name string, m multi, f scimfilter.Expr) (string, error) {
	if m.table != "" {
		return t.emails(m, f)
	}
	if m.json == nil {
		return t.members(m, f)
	}
	elem := &elemTranslator{t: t, m: m, name: name}
	if t.pg {
		elem.col = func(sub string) string { return "(e.v ->> '" + sub + "')" }
		elem.isTrue = func(sub string) string { return "(e.v -> '" + sub + "') = 'true'::jsonb" }
	} else {
		elem.col = func(sub string) string { return "json_extract(e.value, '$." + sub + "')" }
		elem.isTrue = func(sub string) string { return "json_type(e.value, '$." + sub + "') = 'true'" }
	}
	inner, err := elem.expr(f)
	if err != nil {
		return "", err
	}
	arr := t.m.alias + ".attributes"
	path := strings.Join(m.json, ",")
	var exists, absent string
	if t.pg {
		exists = "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + arr + " #> '{" + path + "}') = 'array' THEN " +
			arr + " #> '{" + path + "}' ELSE '[]'::jsonb END) e(v) WHERE jsonb_typeof(e.v) = 'object' AND " + inner + ")"
		absent = "(" + arr + " #> '{" + path + "}') IS NULL"
	} else {
		jp := "'$." + strings.Join(m.json, ".") + "'"
		exists = "EXISTS (SELECT 1 FROM json_each(" + arr + ", " + jp + ") e WHERE CASE WHEN e.type = 'object' THEN " + inner + " ELSE FALSE END)"
		absent = "json_type(" + arr + ", " + jp + ") IS NULL"
	}
	if m.synth == nil {
		return exists, nil
	}
	// A user written outside SCIM has no array; its columns stand in as
	// one primary element.
	elem.synth = true
	syn, err := elem.expr(f)
	if err != nil {
		return "", err
	}
	return "(" + exists + " OR (" + absent + " AND " + syn + "))", nil
}

// elemTranslator translates a value filter over one element.
type elemTranslator struct {
	t      *translator
	m      multi
	name   string
	col    func(sub string) string
	isTrue func(sub string) string
	synth  bool
	// lowered names the sub-attributes whose columns hold lower-case text.
	lowered map[string]bool
}

func (e *elemTranslator) expr(x scimfilter.Expr) (string, error) {
	switch x := x.(type) {
	case *scimfilter.And:
		return e.binary(x.L, x.R, " AND ")
	case *scimfilter.Or:
		return e.binary(x.L, x.R, " OR ")
	case *scimfilter.Not:
		s, err := e.expr(x.X)
		if err != nil {
			return "", err
		}
		return "(NOT COALESCE(" + s + ", FALSE))", nil
	case *scimfilter.Compare:
		if x.Attr.URI != "" || x.Attr.Sub != "" {
			return "", badFilter("%q is no sub-attribute of %s", x.Attr.String(), e.name)
		}
		sub := strings.ToLower(x.Attr.Name)
		kind, ok := e.m.subs[sub]
		if !ok {
			return "", badFilter("%s has no sub-attribute %q", e.name, x.Attr.Name)
		}
		var col string
		var lowered bool
		switch {
		case e.synth:
			col = e.m.synth[sub]
			if col == "" {
				col = "NULL"
			}
			lowered = true
			if kind == kBool && col == "NULL" {
				col = "FALSE"
			}
		case kind == kBool:
			col = e.isTrue(canonSub(sub))
		default:
			col = e.col(canonSub(sub))
			lowered = e.lowered[sub]
		}
		return e.t.compare(col, kind, lowered, x.Op, x.Value, x.Attr)
	}
	return "", badFilter("a value filter cannot nest another")
}

func (e *elemTranslator) binary(l, r scimfilter.Expr, op string) (string, error) {
	a, err := e.expr(l)
	if err != nil {
		return "", err
	}
	b, err := e.expr(r)
	if err != nil {
		return "", err
	}
	return "(" + a + op + b + ")", nil
}

// canonSub is the stored spelling of a sub-attribute (all are lower case
// words but these).
func canonSub(sub string) string {
	if sub == "$ref" {
		return "$ref"
	}
	return sub
}

// emails: some row of user_emails of the user matches f. IN with a
// subquery lets both backends start from the value index for eq and sw.
func (t *translator) emails(m multi, f scimfilter.Expr) (string, error) {
	et := &elemTranslator{t: t, m: m, name: "emails",
		col: func(sub string) string {
			return map[string]string{"value": "e.value_lc", "type": "e.type_lc", "display": "e.display"}[sub]
		},
		isTrue:  func(string) string { return "e.is_primary = 1" },
		lowered: map[string]bool{"value": true, "type": true},
	}
	inner, err := et.expr(f)
	if err != nil {
		return "", err
	}
	return "u.id IN (SELECT e.user_id FROM " + m.table + " e WHERE e.tenant_id = " + t.tenant + " AND " + inner + ")", nil
}

// members: some direct member (user or group) of the group matches f.
func (t *translator) members(m multi, f scimfilter.Expr) (string, error) {
	et := &elemTranslator{t: t, m: m, name: "members",
		col:    func(sub string) string { return "m." + sub },
		isTrue: func(string) string { return "FALSE" },
	}
	inner, err := et.expr(f)
	if err != nil {
		return "", err
	}
	return "EXISTS (SELECT 1 FROM (SELECT gu.user_id AS value, 'user' AS type FROM group_users gu WHERE gu.tenant_id = " + t.tenant +
		" AND gu.group_id = g.id UNION ALL SELECT gg.child_id, 'group' FROM group_groups gg WHERE gg.tenant_id = " + t.tenant +
		" AND gg.parent_id = g.id) m WHERE " + inner + ")", nil
}

// orderBy answers the ORDER BY expression for sortBy (the id for none).
func (t *translator) orderBy(p scimfilter.Path, desc bool) (string, error) {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	id := t.m.alias + ".id"
	if p.Name == "" {
		return id + dir, nil
	}
	k, err := t.key(p)
	if err != nil {
		return "", err
	}
	var x string
	if s, ok := t.m.scalars[k]; ok {
		x = t.scalarExpr(s)
		if s.kind == kString && !s.lowered {
			x = "lower(" + x + ")"
		}
		if s.kind == kBool {
			x = "CASE WHEN " + x + " THEN 1 ELSE 0 END"
		}
	} else if k == "emails" || k == "emails.value" {
		// The primary email sorts a multi-valued attribute (RFC 7644 3.4.2.3).
		x = "u.email_norm"
	} else {
		return "", badFilter("cannot sort by %q", p.String())
	}
	if t.pg {
		x = "(" + x + `) COLLATE "C"`
	}
	// Users without the attribute sort last either way round.
	return "(" + x + ") IS NULL, " + x + dir + ", " + id + dir, nil
}

// scimWhere translates q for table alias m.alias; tenant is already bound.
func scimWhere(b *builder, pg bool, m *resourceMap, tenant string, q store.SCIMQuery) (where, order string, err error) {
	t := &translator{b: b, pg: pg, m: m, tenant: tenant}
	where = m.alias + ".tenant_id = " + tenant
	if q.Filter != nil {
		f, err := t.expr(q.Filter)
		if err != nil {
			return "", "", err
		}
		where += " AND " + f
	}
	order, err = t.orderBy(q.SortBy, q.Descending)
	return where, order, err
}

func clampSCIM(q store.SCIMQuery) (offset, limit int) {
	offset, limit = max(q.Offset, 0), min(max(q.Limit, 0), 1000)
	return offset, limit
}

// FilterUsers answers a SCIM list page of users and the total count.
func (r userRepo) FilterUsers(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.User, int64, error) {
	var b builder
	where, order, err := scimWhere(&b, r.db.d.postgres, userMap, b.arg(string(tenant)), q)
	if err != nil {
		return nil, 0, err
	}
	total, err := r.scimCount(ctx, "users u", where, b.args)
	if err != nil {
		return nil, 0, err
	}
	offset, limit := clampSCIM(q)
	if limit == 0 || int64(offset) >= total {
		return nil, total, nil
	}
	b.add(`SELECT `, userCols, ` FROM users u WHERE `, where, ` ORDER BY `, order,
		` LIMIT `, b.arg(limit), ` OFFSET `, b.arg(offset))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, 0, wrapErr("filter users", err)
	}
	users, err := collect(rows, "filter users", scanUser)
	return users, total, err
}

// FilterGroups answers a SCIM list page of groups and the total count.
func (r groupRepo) FilterGroups(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.Group, int64, error) {
	var b builder
	where, order, err := scimWhere(&b, r.db.d.postgres, groupMap, b.arg(string(tenant)), q)
	if err != nil {
		return nil, 0, err
	}
	total, err := r.scimCount(ctx, "groups g", where, b.args)
	if err != nil {
		return nil, 0, err
	}
	offset, limit := clampSCIM(q)
	if limit == 0 || int64(offset) >= total {
		return nil, total, nil
	}
	b.add(`SELECT `, groupCols, ` FROM groups g WHERE `, where, ` ORDER BY `, order,
		` LIMIT `, b.arg(limit), ` OFFSET `, b.arg(offset))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, 0, wrapErr("filter groups", err)
	}
	groups, err := collect(rows, "filter groups", scanGroup)
	return groups, total, err
}

func (s *scope) scimCount(ctx context.Context, from, where string, args []any) (int64, error) {
	var n int64
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+from+` WHERE `+where, args...).Scan(&n)
	return n, wrapErr("count "+from, err)
}
