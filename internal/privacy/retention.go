package privacy

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// NoticeLead is how long before a retention deletion its notice goes out.
const NoticeLead = 30 * 24 * time.Hour

// retentionBatch bounds the accounts one run handles per tenant; the
// next hourly run continues.
const retentionBatch = 200

// RetentionNotifier mails a notice of a kind to a user inside repos's
// transaction (notice.Service).
type RetentionNotifier interface {
	Notify(ctx context.Context, repos store.Repos, tenant store.TenantID, userID, kind string) error
}

// RetentionCounts is what one run did in one tenant.
type RetentionCounts struct {
	Noticed int `json:"noticed"`
	Erased  int `json:"erased"`
	Held    int `json:"held"`
}

// RunRetention applies every tenant's retention_months: an account
// inactive (no sign-in; creation when it never signed in) for N months
// minus 30 days gets the notice mail; one still inactive after N months
// and at least 30 days after its notice is erased. Signing in keeps the
// account: a notice older than the last sign-in no longer counts, and the
// next time the account falls idle it is told again. Accounts under a
// legal hold are counted, not erased. Each tenant's run is audited as
// privacy.retention with its counts.
func (s *Service) RunRetention(ctx context.Context) (map[store.TenantID]RetentionCounts, error) {
	out := map[store.TenantID]RetentionCounts{}
	for p := (store.Page{Limit: 500}); ; {
		ts, err := s.Store.Tenants().ListTenants(ctx, p)
		if err != nil {
			return out, err
		}
		for _, t := range ts {
			set, err := tenancy.ParseSettings(t.Settings)
			if err != nil || set.Privacy.RetentionMonths <= 0 {
				continue
			}
			c, err := s.retainTenant(ctx, t.ID, set.Privacy.RetentionMonths)
			if err != nil {
				return out, err
			}
			out[t.ID] = c
		}
		if len(ts) < p.Limit {
			return out, nil
		}
		p.After = string(ts[len(ts)-1].ID)
	}
}

func lastActive(u *store.User) time.Time {
	if u.LastLoginAt != nil {
		return *u.LastLoginAt
	}
	return u.CreatedAt
}

func (s *Service) retainTenant(ctx context.Context, tenant store.TenantID, months int) (RetentionCounts, error) {
	var c RetentionCounts
	now := s.now()
	eraseBefore := now.AddDate(0, -months, 0)
	users, err := s.Store.Privacy().InactiveUsers(ctx, tenant, eraseBefore.Add(NoticeLead), retentionBatch)
	if err != nil {
		return c, err
	}
	actor := events.Actor{Type: "system", ID: "retention"}
	for i := range users {
		u := &users[i]
		noticed, err := s.Store.Privacy().RetentionNotice(ctx, tenant, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, err
		}
		current := err == nil && noticed.After(lastActive(u))
		switch {
		case !current:
			// The claim and the mail commit together; a node that
			// loses the claim to another sends nothing.
			claimed := false
			err = s.Store.InTx(ctx, func(tx store.Repos) error {
				ok, err := tx.Privacy().PutRetentionNotice(ctx, tenant, u.ID, now, lastActive(u))
				if err != nil || !ok {
					return err
				}
				claimed = true
				if s.Notify == nil {
					return nil
				}
				return s.Notify.Notify(ctx, tx, tenant, u.ID, notice.PrivacyRetention)
			})
			if err != nil {
				return c, err
			}
			if claimed {
				c.Noticed++
			}
		case lastActive(u).Before(eraseBefore) && !now.Before(noticed.Add(NoticeLead)):
			_, err := s.Erase(ctx, actor, tenant, u.ID)
			switch {
			case errors.Is(err, ErrHold):
				c.Held++
			case errors.Is(err, store.ErrNotFound):
				// Gone meanwhile.
			case err != nil:
				return c, err
			default:
				c.Erased++
			}
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "privacy.retention",
			TargetType: "tenant", TargetID: string(tenant), Changes: events.Changes{
				"noticed": {After: c.Noticed}, "erased": {After: c.Erased}, "held": {After: c.Held},
				"retention_months": {After: months},
			}})
	})
	return c, err
}
