package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// dirSearchRepo runs store.DirFilter conditions as one SQL statement with
// bound parameters: no filter value ever becomes SQL text.
type dirSearchRepo struct{ *scope }

// Column expressions of the user fields, over "users u". Every one is
// lower-case text, so folded values compare directly.
const (
	uidExpr     = `COALESCE(u.username_norm, u.email_norm)`
	displayExpr = `(CASE WHEN u.given_name_lc = '' AND u.family_name_lc = '' THEN ` + uidExpr +
		` ELSE TRIM(u.given_name_lc || ' ' || u.family_name_lc) END)`
)

var userFieldCols = map[store.DirField]string{
	store.FieldID:          "u.id",
	store.FieldUID:         uidExpr,
	store.FieldEmail:       "u.email_norm",
	store.FieldGivenName:   "u.given_name_lc",
	store.FieldFamilyName:  "u.family_name_lc",
	store.FieldDisplayName: displayExpr,
	store.FieldStatus:      "u.status",
}

var groupFieldCols = map[store.DirField]string{
	store.FieldID:   "g.id",
	store.FieldName: "LOWER(g.name)",
}

// dirKind is the record kind a filter is compiled for.
type dirKind struct {
	alias string // "u" or "g"
	cols  map[store.DirField]string
	// membership answers the EXISTS condition of a membership field, with
	// cond applied to the other side's name or uid (nil: any member).
	membership func(b *builder, t string, f store.DirField, cond func(col string) string) (string, bool)
}

var userKind = dirKind{alias: "u", cols: userFieldCols,
	membership: func(b *builder, t string, f store.DirField, cond func(string) string) (string, bool) {
		if f != store.FieldMemberOf {
			return "", false
		}
		return parentOf(t, "group_users gu", "gu", "gu.user_id = u.id", cond), true
	}}

var groupKind = dirKind{alias: "g", cols: groupFieldCols,
	membership: func(b *builder, t string, f store.DirField, cond func(string) string) (string, bool) {
		switch f {
		case store.FieldMemberOf:
			return `EXISTS (SELECT 1 FROM group_groups gp JOIN groups pg ON pg.tenant_id = gp.tenant_id AND pg.id = gp.parent_id
WHERE gp.tenant_id = ` + t + ` AND gp.child_id = g.id` + andCond(cond, "LOWER(pg.name)") + `)`, true
		case store.FieldMemberUID:
			return `EXISTS (SELECT 1 FROM group_users mu JOIN users u ON u.tenant_id = mu.tenant_id AND u.id = mu.user_id
WHERE mu.tenant_id = ` + t + ` AND mu.group_id = g.id AND u.status = 'active'` + andCond(cond, uidExpr) + `)`, true
		case store.FieldMemberGroup:
			return `EXISTS (SELECT 1 FROM group_groups mg JOIN groups cg ON cg.tenant_id = mg.tenant_id AND cg.id = mg.child_id
WHERE mg.tenant_id = ` + t + ` AND mg.parent_id = g.id` + andCond(cond, "LOWER(cg.name)") + `)`, true
		}
		return "", false
	}}

// parentOf is the EXISTS condition "a direct parent group (matching cond)".
func parentOf(t, from, alias, link string, cond func(string) string) string {
	return `EXISTS (SELECT 1 FROM ` + from + ` JOIN groups pg ON pg.tenant_id = ` + alias + `.tenant_id AND pg.id = ` + alias +
		`.group_id WHERE ` + alias + `.tenant_id = ` + t + ` AND ` + link + andCond(cond, "LOWER(pg.name)") + `)`
}

func andCond(cond func(string) string, col string) string {
	if cond == nil {
		return ""
	}
	return " AND " + cond(col)
}

// compile writes f as a SQL condition. nodes counts the nodes seen so far.
func (k dirKind) compile(b *builder, t string, f store.DirFilter, depth int, nodes *int) (string, error) {
	*nodes++
	if depth > store.MaxDirFilterDepth || *nodes > store.MaxDirFilterNodes {
		return "", store.ErrFilterTooComplex
	}
	switch f.Op {
	case store.DirFalse:
		return "(1 = 0)", nil
	case store.DirTrue:
		return "(1 = 1)", nil
	case store.DirAnd, store.DirOr:
		if len(f.Sub) == 0 {
			if f.Op == store.DirAnd {
				return "(1 = 1)", nil
			}
			return "(1 = 0)", nil
		}
		parts := make([]string, 0, len(f.Sub))
		for _, s := range f.Sub {
			p, err := k.compile(b, t, s, depth+1, nodes)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		join := " AND "
		if f.Op == store.DirOr {
			join = " OR "
		}
		return "(" + strings.Join(parts, join) + ")", nil
	case store.DirNot:
		if len(f.Sub) != 1 {
			return "", store.ErrFilterTooComplex
		}
		p, err := k.compile(b, t, f.Sub[0], depth+1, nodes)
		if err != nil {
			return "", err
		}
		return "(NOT " + p + ")", nil
	}
	if col, ok := k.cols[f.Field]; ok {
		return leaf(b, col, f)
	}
	var cond func(string) string
	switch f.Op {
	case store.DirPresent:
	case store.DirEq:
		v := b.arg(f.Value)
		cond = func(col string) string { return col + " = " + v }
	default:
		// Ordering or substrings of membership make no sense: no match.
		if _, ok := k.membership(b, t, f.Field, nil); ok {
			return "(1 = 0)", nil
		}
		return "", store.ErrFilterTooComplex
	}
	if sql, ok := k.membership(b, t, f.Field, cond); ok {
		return sql, nil
	}
	return "", store.ErrFilterTooComplex
}

// leaf writes the test of a plain column.
func leaf(b *builder, col string, f store.DirFilter) (string, error) {
	switch f.Op {
	case store.DirEq:
		return "(" + col + " = " + b.arg(f.Value) + ")", nil
	case store.DirGE:
		return "(" + col + " >= " + b.arg(f.Value) + ")", nil
	case store.DirLE:
		return "(" + col + " <= " + b.arg(f.Value) + ")", nil
	case store.DirPresent:
		return "(" + col + " <> '')", nil
	case store.DirSubstr:
		if f.Initial == "" && f.Final == "" && len(f.Any) == 0 {
			return "", store.ErrFilterTooComplex
		}
		var p strings.Builder
		p.WriteString(escapeLike(f.Initial))
		p.WriteByte('%')
		for _, a := range f.Any {
			p.WriteString(escapeLike(a))
			p.WriteByte('%')
		}
		p.WriteString(escapeLike(f.Final))
		return "(" + col + " LIKE " + b.arg(p.String()) + ` ESCAPE '\')`, nil
	}
	return "", store.ErrFilterTooComplex
}

// escapeLike makes s match itself literally in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FilterUsers runs f over the tenant's users: one statement, LIMIT bounded.
func (r dirSearchRepo) FilterUsers(ctx context.Context, tenant store.TenantID, f store.DirFilter, p store.Page) ([]store.User, error) {
	var b builder
	t := b.arg(string(tenant))
	nodes := 0
	cond, err := userKind.compile(&b, t, f, 0, &nodes)
	if err != nil {
		return nil, err
	}
	where := "u.tenant_id = " + t + " AND " + cond
	if p.After != "" {
		where += " AND u.id > " + b.arg(p.After)
	}
	b.add(`SELECT `, userCols, ` FROM users u WHERE `, where, ` ORDER BY u.id LIMIT `, b.arg(p.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("filter users", err)
	}
	return collect(rows, "filter users", scanUser)
}

// FilterGroups runs f over the tenant's groups: one statement, LIMIT bounded.
func (r dirSearchRepo) FilterGroups(ctx context.Context, tenant store.TenantID, f store.DirFilter, p store.Page) ([]store.Group, error) {
	var b builder
	t := b.arg(string(tenant))
	nodes := 0
	cond, err := groupKind.compile(&b, t, f, 0, &nodes)
	if err != nil {
		return nil, err
	}
	where := "g.tenant_id = " + t + " AND " + cond
	if p.After != "" {
		where += " AND g.id > " + b.arg(p.After)
	}
	b.add(`SELECT `, groupCols, ` FROM groups g WHERE `, where, ` ORDER BY g.id LIMIT `, b.arg(p.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("filter groups", err)
	}
	return collect(rows, "filter groups", scanGroup)
}
