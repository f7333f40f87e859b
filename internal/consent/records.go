package consent

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Decision is one user's answer about one purpose: Version "" means the
// purpose's newest version (reserved purposes have the version "1").
type Decision struct {
	Purpose string `json:"purpose"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
}

// Source is where decisions come from: how (signup, login, account, api,
// import), and the browser's or client's address and user agent.
type Source struct {
	How, IP, UserAgent string
}

// ReservedVersion is the version of the reserved purposes.
const ReservedVersion = "1"

// Record is a consent record as the API shows it.
type Record struct {
	ID        string    `json:"id"`
	Purpose   string    `json:"purpose"`
	Version   string    `json:"version"`
	State     string    `json:"state"`
	How       string    `json:"how"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	At        time.Time `json:"at"`
}

func recordView(r store.ConsentRecord) Record {
	return Record{ID: r.ID, Purpose: r.Purpose, Version: r.Version, State: r.State, How: r.How, IP: r.IP,
		UserAgent: r.UserAgent, At: r.At}
}

// Records answers every consent record of the user, oldest first;
// store.ErrNotFound when the user does not exist.
func (s *Service) Records(ctx context.Context, tenant store.TenantID, userID string) ([]Record, error) {
	if _, err := s.Store.Users().GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	recs, err := s.Store.Purposes().ListConsentRecords(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = recordView(r)
	}
	return out, nil
}

// Record stores decisions of the user, each a record and an audit entry
// (consent.granted or consent.withdrawn, with purpose, version and how),
// all in one transaction. Every decision is checked first: the purpose
// must exist (or be reserved), the version must be one of its versions,
// the state granted or withdrawn; the field of the first bad decision is
// named (decisions[i].purpose, ...). A decision equal to the user's
// current state of that version is skipped (nothing to record). It
// answers the records written.
func (s *Service) Record(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string, ds []Decision, src Source) ([]Record, error) {
	if !slices.Contains(hows, src.How) {
		return nil, valid.Field("how", "invalid", "how is one of signup, login, account, api, import.")
	}
	// A header is bytes: bounded, and made valid UTF-8 (PostgreSQL
	// refuses anything else in a text column).
	if len(src.UserAgent) > maxUserAgent {
		src.UserAgent = src.UserAgent[:maxUserAgent]
	}
	src.UserAgent = strings.ToValidUTF8(src.UserAgent, "")
	var out []Record
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		out, err = s.record(ctx, tx, actor, tenant, userID, ds, src)
		return err
	})
	return out, err
}

// record is Record inside the caller's transaction.
func (s *Service) record(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, userID string, ds []Decision, src Source) ([]Record, error) {
	if _, err := tx.Users().GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	latest, err := tx.Purposes().ListPurposes(ctx, tenant, false)
	if err != nil {
		return nil, err
	}
	recs, err := tx.Purposes().ListConsentRecords(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	current := Current(recs)
	var out []Record
	for i, d := range ds {
		if err := resolve(&d, i, latest); err != nil {
			return nil, err
		}
		if c, ok := current[d.Purpose]; ok && c.Version == d.Version && c.State == d.State {
			continue
		}
		r := store.ConsentRecord{Tenant: tenant, ID: newID(), UserID: userID, Purpose: d.Purpose, Version: d.Version,
			State: d.State, How: src.How, IP: src.IP, UserAgent: src.UserAgent,
			At: s.Now().UTC().Truncate(time.Microsecond)}
		if err := tx.Purposes().AppendConsentRecord(ctx, &r); err != nil {
			return nil, err
		}
		current[d.Purpose] = r
		action := ActionGranted
		if d.State == store.ConsentWithdrawn {
			action = ActionWithdrawn
		}
		if err := s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action, TargetType: "user",
			TargetID: userID, Changes: events.Changes{"purpose": {After: d.Purpose}, "version": {After: d.Version},
				"how": {After: src.How}, "state": {After: d.State}}}); err != nil {
			return nil, err
		}
		out = append(out, recordView(r))
	}
	return out, nil
}

// resolve checks decision i against the tenant's purposes (every version,
// newest first per name) and fills an empty version with the newest.
func resolve(d *Decision, i int, purposes []store.ConsentPurpose) error {
	field := func(f string) string { return "decisions[" + strconv.Itoa(i) + "]." + f }
	if d.State != store.ConsentGranted && d.State != store.ConsentWithdrawn {
		return valid.Field(field("state"), "invalid", "state is granted or withdrawn.")
	}
	if slices.Contains(Reserved, d.Purpose) {
		if d.Version != "" && d.Version != ReservedVersion {
			return valid.Field(field("version"), "invalid", "A reserved purpose has the version 1.")
		}
		d.Version = ReservedVersion
		return nil
	}
	found := false
	for _, p := range purposes {
		if p.Name != d.Purpose {
			continue
		}
		if d.Version == "" {
			d.Version = p.Version // the newest comes first
		}
		if p.Version == d.Version {
			found = true
			break
		}
	}
	switch {
	case found:
		return nil
	case d.Version == "" || !slices.ContainsFunc(purposes, func(p store.ConsentPurpose) bool { return p.Name == d.Purpose }):
		return valid.Field(field("purpose"), "unknown", "No consent purpose of the tenant has this name.")
	}
	return valid.Field(field("version"), "unknown", "The purpose has no such version.")
}

// Current is the state of each purpose of a user's records (oldest
// first): the newest record per purpose name.
func Current(recs []store.ConsentRecord) map[string]store.ConsentRecord {
	out := map[string]store.ConsentRecord{}
	for _, r := range recs {
		out[r.Purpose] = r
	}
	return out
}

// Granted answers the purposes the user has granted now (reserved ones
// included: their grant is the person's request in force), sorted, as
// "name@version" when withVersion. It is the tokens' consents claim.
func Granted(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string, withVersion bool) ([]string, error) {
	recs, err := repos.Purposes().ListConsentRecords(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for name, r := range Current(recs) {
		if r.State != store.ConsentGranted {
			continue
		}
		if withVersion {
			name += "@" + r.Version
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// Pending answers the purposes the user must be asked at sign-in: the
// newest version of each purpose that the user has not decided (a
// record of that version) and, when optional, not skipped; and every
// required purpose whose newest version the user has not granted.
func Pending(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) ([]store.ConsentPurpose, error) {
	latest, err := repos.Purposes().ListPurposes(ctx, tenant, true)
	if err != nil || len(latest) == 0 {
		return nil, err
	}
	recs, err := repos.Purposes().ListConsentRecords(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	asked, err := repos.Purposes().AskedVersions(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	current := Current(recs)
	var out []store.ConsentPurpose
	for _, p := range latest {
		c, decided := current[p.Name]
		decided = decided && c.Version == p.Version
		switch {
		case p.Required && !(decided && c.State == store.ConsentGranted):
			out = append(out, p)
		case !p.Required && !decided && !slices.Contains(asked[p.Name], p.Version):
			out = append(out, p)
		}
	}
	return out, nil
}

// Skip records that the user left the optional purposes named undecided
// at their newest version, so the sign-in does not ask them again.
func (s *Service) Skip(ctx context.Context, tenant store.TenantID, userID string, purposes []store.ConsentPurpose) error {
	for _, p := range purposes {
		if p.Required {
			continue
		}
		if err := s.Store.Purposes().MarkAsked(ctx, tenant, userID, p.Name, p.Version, s.Now()); err != nil {
			return err
		}
	}
	return nil
}

// State is one purpose as the account page shows it: the newest version
// and the user's current decision (State "" when never decided; Version
// is the version decided, which may be older than the purpose's).
type State struct {
	Purpose store.ConsentPurpose
	State   string
	Version string
	At      time.Time
}

// States answers every purpose of the tenant (newest versions) with the
// user's current state of it.
func (s *Service) States(ctx context.Context, tenant store.TenantID, userID string) ([]State, error) {
	latest, err := s.Store.Purposes().ListPurposes(ctx, tenant, true)
	if err != nil {
		return nil, err
	}
	recs, err := s.Store.Purposes().ListConsentRecords(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	current := Current(recs)
	out := make([]State, len(latest))
	for i, p := range latest {
		out[i] = State{Purpose: p}
		if c, ok := current[p.Name]; ok {
			out[i].State, out[i].Version, out[i].At = c.State, c.Version, c.At
		}
	}
	return out, nil
}

// conflict turns a store conflict into a *valid.Conflict on field.
func conflict(field string, err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &valid.Conflict{Field: field, Cause: err}
	}
	return err
}
