package sqlstore

import (
	"context"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// attrKeyRE bounds the attribute keys a search may name. On SQLite the key
// becomes part of a JSON path (passed as a parameter, but still parsed by
// json_extract), so only keys that need no escaping are searchable; the
// same rule holds on PostgreSQL so both backends answer alike.
var attrKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// SearchUsers answers the users matching every set field of q, ordered by
// id after q.After. An attribute filter applies when AttrKey is set
// (AttrValue "" then matches the empty string); an AttrKey outside
// attrKeyRE matches nobody.
func (r userRepo) SearchUsers(ctx context.Context, tenant store.TenantID, q store.UserQuery) ([]store.User, error) {
	if q.AttrKey != "" && !attrKeyRE.MatchString(q.AttrKey) {
		return nil, nil
	}
	var b builder
	t := b.arg(string(tenant))
	var cte string
	where := []string{"u.tenant_id = " + t}
	if q.EmailNorm != "" {
		where = append(where, "u.email_norm = "+b.arg(q.EmailNorm))
	}
	if q.UsernameNorm != "" {
		where = append(where, "u.username_norm = "+b.arg(q.UsernameNorm))
	}
	if q.Status != "" {
		where = append(where, "u.status = "+b.arg(string(q.Status)))
	}
	if q.GroupID != "" {
		g := b.arg(q.GroupID)
		if q.Transitive {
			// sub is the group and every group nested in it at any depth;
			// UNION (not UNION ALL) stops at groups already seen.
			cte = `WITH RECURSIVE sub(id) AS (
  SELECT id FROM groups WHERE tenant_id = ` + t + ` AND id = ` + g + `
  UNION
  SELECT gg.child_id FROM group_groups gg JOIN sub ON gg.parent_id = sub.id WHERE gg.tenant_id = ` + t + `
) `
			where = append(where, `EXISTS (SELECT 1 FROM group_users gu WHERE gu.tenant_id = `+t+
				` AND gu.user_id = u.id AND gu.group_id IN (SELECT id FROM sub))`)
		} else {
			where = append(where, `EXISTS (SELECT 1 FROM group_users gu WHERE gu.tenant_id = `+t+
				` AND gu.group_id = `+g+` AND gu.user_id = u.id)`)
		}
	}
	if q.AttrKey != "" {
		if r.db.d.postgres {
			// -> keeps the JSON type, so 5 does not match "5" (->> would).
			where = append(where, `(u.attributes -> `+b.arg(q.AttrKey)+`::text) = to_jsonb(`+b.arg(q.AttrValue)+`::text)`)
		} else {
			path := b.arg(`$."` + q.AttrKey + `"`)
			where = append(where, `json_type(u.attributes, `+path+`) = 'text' AND json_extract(u.attributes, `+path+`) = `+b.arg(q.AttrValue))
		}
	}
	if q.Prefix != "" {
		// A range, not LIKE: it uses the indexes on both backends (SQLite's
		// LIKE is case-insensitive and so cannot), and it has no wildcard
		// characters to escape. The columns hold lower-case text (the *_lc
		// ones are folded by Go; the normalised ones by the directory),
		// compared bytewise (COLLATE "C" on PostgreSQL). U+10FFFF is the
		// largest code point, so [p, p+U+10FFFF) holds every string that
		// starts with p (save those continuing with U+10FFFF itself).
		p := strings.ToLower(q.Prefix)
		lo, hi := b.arg(p), b.arg(p+"\U0010FFFF")
		cols := []string{"email_norm", "username_norm", "given_name_lc", "family_name_lc"}
		var terms []string
		if r.db.d.postgres {
			// PostgreSQL ORs the four index ranges into one bitmap scan,
			// guided by its statistics.
			for _, col := range cols {
				terms = append(terms, "(u."+col+" >= "+lo+" AND u."+col+" < "+hi+")")
			}
			where = append(where, "("+strings.Join(terms, " OR ")+")")
		} else {
			// SQLite answers the OR form by walking the whole tenant in id
			// order (50 ms at 100,000 users even when one user matches);
			// one index range per column, unioned, takes under 1 ms, and
			// at worst (a prefix matching everyone) about 1.7 times the scan.
			for _, col := range cols {
				terms = append(terms, "SELECT id FROM users WHERE tenant_id = "+t+" AND "+col+" >= "+lo+" AND "+col+" < "+hi)
			}
			where = append(where, "u.id IN ("+strings.Join(terms, " UNION ALL ")+")")
		}
	}
	if q.After != "" {
		where = append(where, "u.id > "+b.arg(q.After))
	}
	b.add(cte, `SELECT `, userCols, ` FROM users u WHERE `, strings.Join(where, " AND "),
		` ORDER BY u.id LIMIT `, b.arg(q.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("search users", err)
	}
	return collect(rows, "search users", scanUser)
}
