package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (o selfServiceRepos) NoticePrefs() store.NoticePrefs     { return noticePrefRepo{o.scope} }
func (o selfServiceRepos) Announcements() store.Announcements { return announcementRepo{o.scope} }

type noticePrefRepo struct{ *scope }

// SetNoticesMuted inserts or removes the user's opt-out row.
func (r noticePrefRepo) SetNoticesMuted(ctx context.Context, tenant store.TenantID, userID string, muted bool) error {
	return r.write(ctx, func(q querier) error {
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, string(tenant), userID).Scan(&one); err != nil {
			return wrapErr("set notices muted", err)
		}
		stmt := `DELETE FROM notice_optouts WHERE tenant_id = $1 AND user_id = $2`
		args := []any{string(tenant), userID}
		if muted {
			stmt = `INSERT INTO notice_optouts (tenant_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
			args = append(args, r.db.nowMicro().UnixMicro())
		}
		_, err := q.ExecContext(ctx, stmt, args...)
		return wrapErr("set notices muted", err)
	})
}

// NoticesMuted reports whether the user has an opt-out row.
func (r noticePrefRepo) NoticesMuted(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	var one int
	err := r.q.QueryRowContext(ctx, `SELECT 1 FROM notice_optouts WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapErr("notices muted", err)
}

type announcementRepo struct{ *scope }

// announcementDoc is the JSON of the doc column.
type announcementDoc struct {
	Title    map[string]string `json:"title"`
	Body     map[string]string `json:"body"`
	Groups   []string          `json:"groups"`
	Roles    []string          `json:"roles"`
	Channels []string          `json:"channels"`
}

const announcementCols = `tenant_id, id, doc, starts_at, ends_at, created_at`

func scanAnnouncement(r interface{ Scan(...any) error }) (*store.Announcement, error) {
	var (
		a            store.Announcement
		tenant, doc  string
		starts, ends sql.NullInt64
		created      int64
		d            announcementDoc
	)
	if err := r.Scan(&tenant, &a.ID, &doc, &starts, &ends, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, err
	}
	a.Tenant, a.StartsAt, a.EndsAt, a.CreatedAt = store.TenantID(tenant), timePtr(starts), timePtr(ends), fromMicros(created)
	a.Title, a.Body, a.Groups, a.Roles, a.Channels = d.Title, d.Body, d.Groups, d.Roles, d.Channels
	return &a, nil
}

// CreateAnnouncement inserts a.
func (r announcementRepo) CreateAnnouncement(ctx context.Context, a *store.Announcement) error {
	if a.ID == "" || a.Tenant == "" {
		return errors.New("sqlstore: announcement needs an id and a tenant")
	}
	doc, err := json.Marshal(announcementDoc{Title: a.Title, Body: a.Body, Groups: a.Groups, Roles: a.Roles, Channels: a.Channels})
	if err != nil {
		return err
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = r.db.nowMicro()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO announcements (`+announcementCols+`) VALUES (`+placeholders(0, 6)+`)`,
			string(a.Tenant), a.ID, string(doc), nullMicros(a.StartsAt), nullMicros(a.EndsAt), micro(a.CreatedAt).UnixMicro())
		return wrapErr("create announcement", err)
	})
}

// GetAnnouncement answers one announcement.
func (r announcementRepo) GetAnnouncement(ctx context.Context, tenant store.TenantID, id string) (*store.Announcement, error) {
	a, err := scanAnnouncement(r.q.QueryRowContext(ctx, `SELECT `+announcementCols+` FROM announcements
WHERE tenant_id = $1 AND id = $2`, string(tenant), id))
	return a, wrapErr("get announcement", err)
}

// ListAnnouncements answers the tenant's announcements, newest first.
func (r announcementRepo) ListAnnouncements(ctx context.Context, tenant store.TenantID) ([]store.Announcement, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+announcementCols+` FROM announcements WHERE tenant_id = $1
ORDER BY created_at DESC, id DESC LIMIT 500`, string(tenant))
	if err != nil {
		return nil, wrapErr("list announcements", err)
	}
	return collect(rows, "list announcements", scanAnnouncement)
}

// DeleteAnnouncement removes one (its deliveries cascade).
func (r announcementRepo) DeleteAnnouncement(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM announcements WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete announcement", err)
		}
		return oneRow(res, "delete announcement")
	})
}

// Audience walks from the named groups, and the groups holding the named
// roles, down through nested groups, and answers their active members
// with the users holding the roles directly.
func (r announcementRepo) Audience(ctx context.Context, tenant store.TenantID, groups, roles []string, after string, limit int) ([]store.Recipient, error) {
	return r.audience(ctx, tenant, groups, roles, "u.id > $2", after, limit)
}

// InAudience runs the audience query for the one user.
func (r announcementRepo) InAudience(ctx context.Context, tenant store.TenantID, groups, roles []string, userID string) (bool, error) {
	rs, err := r.audience(ctx, tenant, groups, roles, "u.id = $2", userID, 1)
	return len(rs) == 1, err
}

func (r announcementRepo) audience(ctx context.Context, tenant store.TenantID, groups, roles []string, cond, key string, limit int) ([]store.Recipient, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	args := []any{string(tenant), key, limit}
	in := func(names []string) string {
		if len(names) == 0 {
			return "NULL"
		}
		s := placeholders(len(args), len(names))
		for _, n := range names {
			args = append(args, n)
		}
		return s
	}
	where := ""
	if len(groups) > 0 || len(roles) > 0 {
		gs, rs := in(groups), in(roles)
		where = ` AND (u.id IN (SELECT user_id FROM group_users WHERE tenant_id = $1 AND group_id IN (SELECT id FROM d))
   OR u.id IN (SELECT ra.user_id FROM role_assignments ra JOIN roles ro ON ro.tenant_id = ra.tenant_id AND ro.id = ra.role_id
     WHERE ra.tenant_id = $1 AND ra.user_id IS NOT NULL AND ro.privileged = ` + r.falseLit() + ` AND ro.name IN (` + rs + `)))`
		stmt := `WITH RECURSIVE d(id) AS (
  SELECT id FROM groups WHERE tenant_id = $1 AND name IN (` + gs + `)
  UNION
  SELECT ra.group_id FROM role_assignments ra JOIN roles ro ON ro.tenant_id = ra.tenant_id AND ro.id = ra.role_id
    WHERE ra.tenant_id = $1 AND ra.group_id IS NOT NULL AND ro.privileged = ` + r.falseLit() + ` AND ro.name IN (` + rs + `)
  UNION
  SELECT gg.child_id FROM group_groups gg JOIN d ON gg.parent_id = d.id WHERE gg.tenant_id = $1
)
SELECT u.id, u.email, u.locale FROM users u WHERE u.tenant_id = $1 AND u.status = 'active' AND ` + cond + where + `
ORDER BY u.id LIMIT $3`
		return r.recipients(ctx, stmt, args)
	}
	return r.recipients(ctx, `SELECT u.id, u.email, u.locale FROM users u WHERE u.tenant_id = $1 AND u.status = 'active'
AND `+cond+` ORDER BY u.id LIMIT $3`, args)
}

func (r announcementRepo) falseLit() string {
	if r.db.d.postgres {
		return "false"
	}
	return "0"
}

func (r announcementRepo) recipients(ctx context.Context, stmt string, args []any) ([]store.Recipient, error) {
	rows, err := r.q.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, wrapErr("audience", err)
	}
	return collect(rows, "audience", func(s interface{ Scan(...any) error }) (*store.Recipient, error) {
		var rc store.Recipient
		return &rc, s.Scan(&rc.UserID, &rc.Email, &rc.Locale)
	})
}

// AddDeliveries inserts the delivery rows in one statement per row,
// inside the caller's transaction when there is one.
func (r announcementRepo) AddDeliveries(ctx context.Context, tenant store.TenantID, id string, ds []store.Delivery) error {
	return r.write(ctx, func(q querier) error {
		for _, d := range ds {
			if _, err := q.ExecContext(ctx, `INSERT INTO announcement_deliveries (tenant_id, announcement_id, user_id, mail_id)
VALUES ($1, $2, $3, $4)`, string(tenant), id, d.UserID, d.MailID); err != nil {
				return wrapErr("add deliveries", err)
			}
		}
		return nil
	})
}

// CountDeliveries joins the deliveries with the mail queue's states.
func (r announcementRepo) CountDeliveries(ctx context.Context, tenant store.TenantID, id string) (store.DeliveryCounts, error) {
	var c store.DeliveryCounts
	rows, err := r.q.QueryContext(ctx, `SELECT CASE WHEN d.mail_id = '' THEN 'skipped' ELSE COALESCE(m.status, 'purged') END, COUNT(*)
FROM announcement_deliveries d LEFT JOIN mail_queue m ON m.id = d.mail_id
WHERE d.tenant_id = $1 AND d.announcement_id = $2 GROUP BY 1`, string(tenant), id)
	if err != nil {
		return c, wrapErr("count deliveries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return c, wrapErr("count deliveries", err)
		}
		c.Recipients += n
		switch state {
		case "skipped":
			c.Skipped += n
		case string(store.MailSent):
			c.Sent += n
		case string(store.MailFailed):
			c.Failed += n
		case "purged":
			c.Purged += n
		default:
			c.Pending += n
		}
	}
	return c, wrapErr("count deliveries", rows.Err())
}

// LastNudge reads the user's last passkey offer.
func (r noticePrefRepo) LastNudge(ctx context.Context, tenant store.TenantID, userID string) (*time.Time, error) {
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT shown_at FROM passkey_nudges WHERE tenant_id = $1 AND user_id = $2`,
		string(tenant), userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr("last nudge", err)
	}
	t := fromMicros(at)
	return &t, nil
}

// MarkNudged inserts or moves the user's offer row.
func (r noticePrefRepo) MarkNudged(ctx context.Context, tenant store.TenantID, userID string, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO passkey_nudges (tenant_id, user_id, shown_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET shown_at = excluded.shown_at`, string(tenant), userID, micro(at).UnixMicro())
		return wrapErr("mark nudged", err)
	})
}

// NudgeUptake sets enrolled_at once on an existing offer row.
func (r noticePrefRepo) NudgeUptake(ctx context.Context, tenant store.TenantID, userID string, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE passkey_nudges SET enrolled_at = $3
WHERE tenant_id = $1 AND user_id = $2 AND enrolled_at IS NULL`, string(tenant), userID, micro(at).UnixMicro())
		return wrapErr("nudge uptake", err)
	})
}

// Adoption counts in one statement.
func (r noticePrefRepo) Adoption(ctx context.Context, tenant store.TenantID) (store.Adoption, error) {
	var a store.Adoption
	err := r.q.QueryRowContext(ctx, `SELECT
 (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND status = 'active'),
 (SELECT COUNT(DISTINCT user_id) FROM mfa_factors WHERE tenant_id = $1 AND confirmed = 1),
 (SELECT COUNT(DISTINCT user_id) FROM mfa_factors WHERE tenant_id = $1 AND confirmed = 1 AND kind = 'webauthn'),
 (SELECT COUNT(*) FROM passkey_nudges WHERE tenant_id = $1),
 (SELECT COUNT(*) FROM passkey_nudges WHERE tenant_id = $1 AND enrolled_at IS NOT NULL)`, string(tenant)).Scan(
		&a.Users, &a.MFAUsers, &a.PasskeyUsers, &a.NudgesShown, &a.NudgesEnrolled)
	return a, wrapErr("adoption", err)
}
