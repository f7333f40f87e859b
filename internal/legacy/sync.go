package legacy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SyncResult counts what a sync changed. Since is what the next,
// incremental, sync passes on.
type SyncResult struct {
	Seen     int       `json:"seen"`
	Created  int       `json:"created"`
	Updated  int       `json:"updated"`
	Disabled int       `json:"disabled"`
	Joined   int       `json:"joined"`
	Left     int       `json:"left"`
	Skipped  int       `json:"skipped"`
	Since    time.Time `json:"since"`
}

// ErrNotFederating: Sync is for federating legacy_ldap connections.
var ErrNotFederating = errors.New("legacy: the connection does not federate an LDAP directory")

// syncTimeout bounds one sync.
const syncTimeout = 10 * time.Minute

// Sync mirrors the directory of a federating legacy_ldap connection:
// each entry its user filter finds becomes, or updates, an account linked
// to the connection (the directory owns email, username and names). With
// since zero it is a full sync, which also disables the linked accounts
// whose entry is gone and sets the memberships of the groups under
// group_base_dn (by name; created here when missing) to the linked
// accounts among their members; with since set only entries whose
// modifyTimestamp is at or after it are read. Entries that cannot become
// accounts (taken or invalid identifiers) are skipped and audited.
// Errors: store.ErrNotFound, ErrNotFederating, the directory's failure.
func (s *Service) Sync(ctx context.Context, tenant store.TenantID, connID string, since time.Time) (*SyncResult, error) {
	conn, err := s.Connections.Get(ctx, tenant, connID)
	if err != nil {
		return nil, err
	}
	st, err := connection.SettingsOf(conn)
	if err != nil {
		return nil, err
	}
	if conn.Type != connection.TypeLegacyLDAP || st.Mode != connection.ModeFederate {
		return nil, ErrNotFederating
	}
	b, err := s.backend(conn, st)
	if err != nil {
		return nil, err
	}
	lb := b.(*ldapBackend)
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	// Entries changed while the search runs are read again next time.
	res := &SyncResult{Since: s.Now().UTC().Add(-time.Minute).Truncate(time.Second)}
	lc, err := lb.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	entries, err := lb.users(ctx, lc, since)
	if err != nil {
		return nil, err
	}
	var groups map[string][]string
	if since.IsZero() {
		if groups, err = lb.groups(ctx, lc); err != nil {
			return nil, err
		}
	}
	actor := actorFor(conn)
	byDN := map[string]string{} // normalised DN -> user id
	seen := map[string]bool{}   // subjects
	for _, e := range entries {
		res.Seen++
		seen[e.profile.Subject] = true
		id, err := s.syncEntry(ctx, actor, conn, e.profile, res)
		if err != nil {
			return nil, err
		}
		if id != "" {
			byDN[normDN(e.dn)] = id
		}
	}
	if !since.IsZero() {
		return res, s.audit(ctx, conn, actor, res)
	}
	linked, err := s.disableGone(ctx, actor, conn, seen, res)
	if err != nil {
		return nil, err
	}
	if err := s.syncGroups(ctx, actor, conn, groups, byDN, linked, res); err != nil {
		return nil, err
	}
	return res, s.audit(ctx, conn, actor, res)
}

func (s *Service) audit(ctx context.Context, conn *store.Connection, actor events.Actor, res *SyncResult) error {
	return s.Audit.Record(ctx, s.Store, actor, events.Entry{Tenant: conn.Tenant, Action: "connection.synced",
		TargetType: "connection", TargetID: conn.ID, Changes: events.Changes{
			"seen": {After: res.Seen}, "created": {After: res.Created}, "updated": {After: res.Updated},
			"disabled": {After: res.Disabled}, "skipped": {After: res.Skipped}}})
}

// syncEntry creates or updates the account of one entry, answering its id
// ("" when skipped).
func (s *Service) syncEntry(ctx context.Context, actor events.Actor, conn *store.Connection, p *Profile, res *SyncResult) (string, error) {
	link, err := s.Store.Connections().Identities().GetIdentityBySubject(ctx, conn.Tenant, conn.ID, p.Subject)
	if errors.Is(err, store.ErrNotFound) {
		u, _, err := s.adopt(ctx, conn, p)
		var conflict *conflictError
		if errors.As(err, &conflict) {
			res.Skipped++
			s.Log.WarnContext(ctx, "legacy: sync skipped an entry", "connection", conn.Name, "reason", conflict.reason)
			return "", nil
		}
		if err != nil {
			return "", err
		}
		res.Created++
		return u.ID, nil
	}
	if err != nil {
		return "", err
	}
	u, err := s.Store.Users().GetUser(ctx, conn.Tenant, link.UserID)
	if err != nil {
		return "", err
	}
	var patch directory.UserPatch
	changed := false
	set := func(dst **string, have, want string) {
		if have != want {
			*dst, changed = &want, true
		}
	}
	set(&patch.Email, u.Email, p.Email)
	set(&patch.Username, u.Username, p.Username)
	set(&patch.GivenName, u.GivenName, p.GivenName)
	set(&patch.FamilyName, u.FamilyName, p.FamilyName)
	if u.EmailVerified != p.EmailVerified {
		patch.EmailVerified, changed = &p.EmailVerified, true
	}
	if !changed {
		return u.ID, nil
	}
	if _, err := s.Directory.UpdateUser(ctx, actor, conn.Tenant, u.ID, 0, patch); err != nil {
		var conflict *conflictError
		if errors.As(classify(err), &conflict) {
			res.Skipped++
			s.Log.WarnContext(ctx, "legacy: sync skipped an update", "connection", conn.Name, "reason", conflict.reason)
			return u.ID, nil
		}
		return "", err
	}
	res.Updated++
	return u.ID, nil
}

// disableGone disables the active accounts linked to conn whose subject
// the full sync did not see, answering the ids of every account linked to
// conn.
func (s *Service) disableGone(ctx context.Context, actor events.Actor, conn *store.Connection, seen map[string]bool, res *SyncResult) (map[string]bool, error) {
	ids := s.Store.Connections().Identities()
	disabled := string(store.UserDisabled)
	linked := map[string]bool{}
	after := ""
	for range maxEntries / 1000 {
		page, err := ids.ListConnectionIdentities(ctx, conn.Tenant, conn.ID, store.Page{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, i := range page {
			linked[i.UserID] = true
			if seen[i.Subject] {
				continue
			}
			u, err := s.Store.Users().GetUser(ctx, conn.Tenant, i.UserID)
			if err != nil {
				return nil, err
			}
			if u.Status != store.UserActive {
				continue
			}
			if _, err := s.Directory.UpdateUser(ctx, actor, conn.Tenant, u.ID, 0, directory.UserPatch{Status: &disabled}); err != nil {
				return nil, fmt.Errorf("disable %s: %w", u.ID, err)
			}
			res.Disabled++
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Subject
	}
	return linked, nil
}

// syncGroups makes each directory group's membership of the accounts
// linked to conn what the directory says; other members of the group stay.
func (s *Service) syncGroups(ctx context.Context, actor events.Actor, conn *store.Connection, groups map[string][]string, byDN map[string]string, linked map[string]bool, res *SyncResult) error {
	if len(groups) == 0 {
		return nil
	}
	local, err := s.groupsByName(ctx, conn.Tenant)
	if err != nil {
		return err
	}
	for name, members := range groups {
		g, ok := local[name]
		if !ok {
			created, err := s.Directory.CreateGroup(ctx, actor, conn.Tenant, directory.NewGroup{Name: name,
				Description: "Mirrored from " + conn.Name})
			if err != nil {
				res.Skipped++
				continue
			}
			g = created
		}
		want := map[string]bool{}
		for _, dn := range members {
			if id := byDN[dn]; id != "" {
				want[id] = true
			}
		}
		have, err := s.Directory.ListMembers(ctx, conn.Tenant, g.ID, store.Page{Limit: 1000})
		if err != nil {
			return err
		}
		for _, m := range have {
			if m.Type != store.MemberUser || !linked[m.ID] {
				continue
			}
			if want[m.ID] {
				delete(want, m.ID)
				continue
			}
			if err := s.Directory.RemoveMember(ctx, actor, conn.Tenant, g.ID, m); err != nil {
				return err
			}
			res.Left++
		}
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			err := s.Directory.AddMember(ctx, actor, conn.Tenant, g.ID, store.Member{Type: store.MemberUser, ID: id})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			res.Joined++
		}
	}
	return nil
}

func (s *Service) groupsByName(ctx context.Context, tenant store.TenantID) (map[string]*store.Group, error) {
	out := map[string]*store.Group{}
	after := ""
	for range 1000 {
		page, err := s.Directory.ListGroups(ctx, tenant, store.Page{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for i := range page {
			out[page[i].Name] = &page[i]
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return out, nil
}
