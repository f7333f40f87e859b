package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// fullSyncEvery is how often a federating directory gets a full sync
// (which alone can tell deleted entries); the syncs between are
// incremental (modifyTimestamp).
const fullSyncEvery = 24 * time.Hour

// dirSync is what this node remembers of one federating connection.
type dirSync struct {
	due, lastFull, since time.Time
}

// syncDirectories runs the periodic sync of every federating legacy_ldap
// connection of every tenant, each at its sync_interval: a full sync
// first and once a day, incremental ones between. Nodes sync
// independently; a sync is idempotent.
func (a *App) syncDirectories(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	state := map[string]*dirSync{}
	for {
		a.syncDue(ctx, state)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) syncDue(ctx context.Context, state map[string]*dirSync) {
	p := store.Page{Limit: 1000}
	for range 1000 {
		ts, err := a.DB.Tenants().ListTenants(ctx, p)
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Warn("directory sync: tenants", "err", err)
			}
			return
		}
		for _, tn := range ts {
			a.syncTenant(ctx, tn.ID, state)
		}
		if len(ts) < p.Limit {
			return
		}
		p.After = string(ts[len(ts)-1].ID)
	}
}

func (a *App) syncTenant(ctx context.Context, tenant store.TenantID, state map[string]*dirSync) {
	conns, err := a.Connections.LegacyStores(ctx, tenant)
	if err != nil {
		a.Log.Warn("directory sync: connections", "tenant", string(tenant), "err", err)
		return
	}
	now := a.now()
	for i := range conns {
		c := &conns[i]
		st, err := connection.SettingsOf(c)
		if err != nil || c.Type != connection.TypeLegacyLDAP || st.Mode != connection.ModeFederate {
			continue
		}
		ds := state[c.ID]
		if ds == nil {
			ds = &dirSync{}
			state[c.ID] = ds
		}
		if now.Before(ds.due) {
			continue
		}
		ds.due = now.Add(st.Interval())
		since := ds.since
		if now.Sub(ds.lastFull) >= fullSyncEvery {
			since = time.Time{}
		}
		res, err := a.Legacy.Sync(ctx, tenant, c.ID, since)
		if err != nil {
			a.Log.Warn("directory sync failed", "tenant", string(tenant), "connection", c.Name, "err", err)
			continue
		}
		if since.IsZero() {
			ds.lastFull = now
		}
		ds.since = res.Since
		a.Log.Info("directory synced", "tenant", string(tenant), "connection", c.Name, "full", since.IsZero(),
			"seen", res.Seen, "created", res.Created, "updated", res.Updated, "disabled", res.Disabled)
	}
}
