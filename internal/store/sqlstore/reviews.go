package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type reviewRepo struct{ *scope }

const campaignCols = `tenant_id, id, name, scope, application, reviewers, deadline, created_by, created_at`

func scanCampaign(r scanner) (*store.ReviewCampaign, error) {
	var (
		c                 store.ReviewCampaign
		tenant, reviewers string
		deadline, created int64
	)
	if err := r.Scan(&tenant, &c.ID, &c.Name, &c.Scope, &c.Application, &reviewers, &deadline, &c.CreatedBy, &created); err != nil {
		return nil, err
	}
	c.Tenant, c.Deadline, c.CreatedAt = store.TenantID(tenant), fromMicros(deadline), fromMicros(created)
	return &c, parseList(reviewers, &c.Reviewers)
}

const itemCols = `tenant_id, campaign_id, id, assignment_id, role_id, role_name, user_id, group_id, subject_name,
decision, decided_by, decided_at, note`

func scanItem(r scanner) (*store.ReviewItem, error) {
	var (
		it      store.ReviewItem
		tenant  string
		decided sql.NullInt64
	)
	if err := r.Scan(&tenant, &it.CampaignID, &it.ID, &it.AssignmentID, &it.RoleID, &it.RoleName, &it.UserID, &it.GroupID,
		&it.SubjectName, &it.Decision, &it.DecidedBy, &decided, &it.Note); err != nil {
		return nil, err
	}
	it.Tenant, it.DecidedAt = store.TenantID(tenant), timeOrZero(decided)
	return &it, nil
}

// CreateCampaign inserts the campaign and its items in one transaction.
func (r reviewRepo) CreateCampaign(ctx context.Context, c *store.ReviewCampaign, items []store.ReviewItem) error {
	if c.ID == "" || c.Tenant == "" || c.Name == "" || c.Deadline.IsZero() {
		return errors.New("sqlstore: a campaign needs an id, a tenant, a name and a deadline")
	}
	n := *c
	n.Reviewers = normList(n.Reviewers)
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt, n.Deadline = micro(n.CreatedAt), micro(n.Deadline)
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO review_campaigns (`+campaignCols+`) VALUES (`+placeholders(0, 9)+`)`,
			string(n.Tenant), n.ID, n.Name, n.Scope, n.Application, listJSON(n.Reviewers), n.Deadline.UnixMicro(),
			n.CreatedBy, n.CreatedAt.UnixMicro()); err != nil {
			return wrapErr("create campaign", err)
		}
		for i := range items {
			it := &items[i]
			if it.ID == "" {
				return errors.New("sqlstore: a review item needs an id")
			}
			it.Tenant, it.CampaignID = n.Tenant, n.ID
			if _, err := q.ExecContext(ctx, `INSERT INTO review_items (`+itemCols+`) VALUES (`+placeholders(0, 13)+`)`,
				string(it.Tenant), it.CampaignID, it.ID, it.AssignmentID, it.RoleID, it.RoleName, it.UserID, it.GroupID,
				it.SubjectName, it.Decision, it.DecidedBy, nullTime(it.DecidedAt), it.Note); err != nil {
				return wrapErr("create review item", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	*c = n
	return nil
}

func (r reviewRepo) GetCampaign(ctx context.Context, tenant store.TenantID, id string) (*store.ReviewCampaign, error) {
	c, err := scanCampaign(r.q.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM review_campaigns WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return c, wrapErr("get campaign", err)
}

func (r reviewRepo) ListCampaigns(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.ReviewCampaign, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+campaignCols+` FROM review_campaigns WHERE tenant_id = $1 AND id > $2
ORDER BY id LIMIT $3`, string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list campaigns", err)
	}
	return collect(rows, "list campaigns", scanCampaign)
}

func (r reviewRepo) ListItems(ctx context.Context, tenant store.TenantID, campaignID string, p store.Page) ([]store.ReviewItem, error) {
	if _, err := r.GetCampaign(ctx, tenant, campaignID); err != nil {
		return nil, err
	}
	rows, err := r.q.QueryContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE tenant_id = $1 AND campaign_id = $2
AND id > $3 ORDER BY id LIMIT $4`, string(tenant), campaignID, p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list review items", err)
	}
	return collect(rows, "list review items", scanItem)
}

// DecideItem is one conditional UPDATE: of two concurrent decisions on an
// item exactly one lands; the other sees ErrConflict.
func (r reviewRepo) DecideItem(ctx context.Context, tenant store.TenantID, campaignID, itemID, decision, by, note string, at time.Time) (*store.ReviewItem, error) {
	const op = "decide review item"
	var out *store.ReviewItem
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE review_items SET decision = $1, decided_by = $2, decided_at = $3, note = $4
WHERE tenant_id = $5 AND campaign_id = $6 AND id = $7 AND decision = ''`,
			decision, by, micro(at).UnixMicro(), note, string(tenant), campaignID, itemID)
		if err != nil {
			return wrapErr(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrapErr(op, err)
		}
		it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items
WHERE tenant_id = $1 AND campaign_id = $2 AND id = $3`, string(tenant), campaignID, itemID))
		if err != nil {
			return wrapErr(op, err)
		}
		if n == 0 {
			return wrapErr(op, store.ErrConflict)
		}
		out = it
		return nil
	})
	return out, err
}
