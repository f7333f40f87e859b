package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// emailRow is one row of user_emails (migration 0005).
type emailRow struct {
	value, typ, display string
	primary             bool
}

// maxEmailRows bounds the rows one user gets, whatever its attributes hold.
const maxEmailRows = 100

// emailRows derives a user's user_emails rows: each object with a string
// value in attributes.scim.emails, plus the user's email as primary when
// the array does not hold it (a user written outside SCIM has only that).
// This mirrors how the SCIM layer renders emails.
func emailRows(u *store.User) []emailRow {
	var attrs struct {
		SCIM struct {
			Emails []json.RawMessage `json:"emails"`
		} `json:"scim"`
	}
	_ = json.Unmarshal(u.Attributes, &attrs) // other shapes hold no emails
	var rows []emailRow
	own := false
	for _, raw := range attrs.SCIM.Emails {
		var e struct {
			Value   any `json:"value"`
			Type    any `json:"type"`
			Display any `json:"display"`
			Primary any `json:"primary"`
		}
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		v, ok := e.Value.(string)
		if !ok || len(rows) == maxEmailRows-1 {
			continue
		}
		t, _ := e.Type.(string)
		d, _ := e.Display.(string)
		r := emailRow{value: strings.ToLower(strings.TrimSpace(v)), typ: strings.ToLower(t), display: d, primary: e.Primary == true}
		own = own || r.value == u.EmailNorm
		rows = append(rows, r)
	}
	if !own {
		rows = append([]emailRow{{value: u.EmailNorm, primary: true}}, rows...)
	}
	return rows
}

const emailInsert = `INSERT INTO user_emails (tenant_id, user_id, idx, value_lc, type_lc, display, is_primary) VALUES `

func emailArgs(u *store.User, i int, r emailRow) []any {
	p := 0
	if r.primary {
		p = 1
	}
	return []any{string(u.Tenant), u.ID, i, r.value, nullString(r.typ), nullString(r.display), p}
}

// writeEmails replaces the user's user_emails rows, in q's transaction.
func writeEmails(ctx context.Context, q querier, u *store.User, replace bool) error {
	if replace {
		if _, err := q.ExecContext(ctx, `DELETE FROM user_emails WHERE tenant_id = $1 AND user_id = $2`, string(u.Tenant), u.ID); err != nil {
			return wrapErr("write user emails", err)
		}
	}
	rows := emailRows(u)
	var sb strings.Builder
	args := make([]any, 0, 7*len(rows))
	sb.WriteString(emailInsert)
	for i, r := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(" + placeholders(len(args), 7) + ")")
		args = append(args, emailArgs(u, i, r)...)
	}
	_, err := q.ExecContext(ctx, sb.String(), args...)
	return wrapErr("write user emails", err)
}

// insertEmailsBulk writes the rows of many new users: multi-row statements
// on PostgreSQL (round trips cost), one prepared statement on SQLite.
func insertEmailsBulk(ctx context.Context, q querier, users []store.User, postgres bool) error {
	if postgres {
		for start := 0; start < len(users); start += pgInsertBatch {
			var sb strings.Builder
			var args []any
			sb.WriteString(emailInsert)
			for k := start; k < min(start+pgInsertBatch, len(users)); k++ {
				for i, r := range emailRows(&users[k]) {
					if len(args) > 0 {
						sb.WriteString(", ")
					}
					sb.WriteString("(" + placeholders(len(args), 7) + ")")
					args = append(args, emailArgs(&users[k], i, r)...)
				}
			}
			if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
				return wrapErr("insert user emails", err)
			}
		}
		return nil
	}
	stmt, err := q.PrepareContext(ctx, emailInsert+"("+placeholders(0, 7)+")")
	if err != nil {
		return wrapErr("insert user emails", err)
	}
	defer stmt.Close()
	for k := range users {
		for i, r := range emailRows(&users[k]) {
			if _, err := stmt.ExecContext(ctx, emailArgs(&users[k], i, r)...); err != nil {
				return wrapErr("insert user emails", err)
			}
		}
	}
	return nil
}
