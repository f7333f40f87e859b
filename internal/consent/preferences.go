package consent

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Channels are the communication channels a user chooses among.
var Channels = []string{"email", "sms", "push"}

// Preferences are a user's communication preferences as the API and the
// account page show them: every channel and every topic of the tenant
// (false unless the user opted in), and the two rights recorded like
// consents (the CCPA opt-out of sale and sharing, the GDPR objection to
// profiling).
type Preferences struct {
	Channels        map[string]bool `json:"channels"`
	Topics          map[string]bool `json:"topics"`
	DoNotSell       bool            `json:"do_not_sell"`
	ObjectProfiling bool            `json:"object_profiling"`
	UpdatedAt       *time.Time      `json:"updated_at,omitempty"`
}

// PreferencesChange is the body of PUT .../preferences: the channels,
// topics and rights it names are set; what it leaves out stays.
type PreferencesChange struct {
	Channels        map[string]bool `json:"channels"`
	Topics          map[string]bool `json:"topics"`
	DoNotSell       *bool           `json:"do_not_sell"`
	ObjectProfiling *bool           `json:"object_profiling"`
}

// Preferences answers the user's preferences; store.ErrNotFound when the
// user does not exist.
func (s *Service) Preferences(ctx context.Context, tenant store.TenantID, userID string) (*Preferences, error) {
	return s.preferences(ctx, s.Store, tenant, userID)
}

func (s *Service) preferences(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) (*Preferences, error) {
	if _, err := repos.Users().GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	topics, err := Topics(ctx, repos, tenant)
	if err != nil {
		return nil, err
	}
	p, err := repos.Purposes().GetPreferences(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	granted, err := Granted(ctx, repos, tenant, userID, false)
	if err != nil {
		return nil, err
	}
	out := &Preferences{Channels: map[string]bool{}, Topics: map[string]bool{},
		DoNotSell: slices.Contains(granted, DoNotSell), ObjectProfiling: slices.Contains(granted, ObjectProfiling)}
	for _, c := range Channels {
		out.Channels[c] = p.Channels[c]
	}
	for _, t := range topics {
		out.Topics[t.Name] = p.Topics[t.Name]
	}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = &p.UpdatedAt
	}
	return out, nil
}

// Topics answers the tenant's communication topics (settings.communication.topics).
func Topics(ctx context.Context, repos store.Repos, tenant store.TenantID) ([]tenancy.Topic, error) {
	t, err := repos.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil, err
	}
	return set.Communication.Topics, nil
}

// SetPreferences applies ch for the user in one transaction: changed
// channels and topics are stored and audited as one preferences.changed
// entry (the changed keys, before and after, and how); a changed right is
// a consent record of its reserved purpose (consent.granted or
// consent.withdrawn). An unknown channel or topic is a validation error
// naming it (channels.fax); nothing is stored then.
func (s *Service) SetPreferences(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string, ch PreferencesChange, src Source) (*Preferences, error) {
	if !slices.Contains(hows, src.How) {
		return nil, valid.Field("how", "invalid", "how is one of signup, login, account, api, import.")
	}
	var out *Preferences
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Users().GetUser(ctx, tenant, userID); err != nil {
			return err
		}
		topics, err := Topics(ctx, tx, tenant)
		if err != nil {
			return err
		}
		var c valid.Collector
		for k := range ch.Channels {
			if !slices.Contains(Channels, k) {
				c.Add("channels."+k, "unknown", "Channels are email, sms and push.")
			}
		}
		for k := range ch.Topics {
			if !slices.ContainsFunc(topics, func(t tenancy.Topic) bool { return t.Name == k }) {
				c.Add("topics."+k, "unknown", "The tenant has no such topic (settings.communication.topics).")
			}
		}
		if err := c.Err(); err != nil {
			return err
		}
		old, err := tx.Purposes().GetPreferences(ctx, tenant, userID)
		if err != nil {
			return err
		}
		next := &store.Preferences{Tenant: tenant, UserID: userID, Channels: maps.Clone(old.Channels),
			Topics: maps.Clone(old.Topics), UpdatedAt: s.Now().UTC().Truncate(time.Microsecond)}
		changes := events.Changes{}
		diff := func(prefix string, from, into map[string]bool, set map[string]bool) {
			for k, v := range set {
				if from[k] != v {
					changes[prefix+k] = events.Change{Before: from[k], After: v}
				}
				into[k] = v
			}
		}
		diff("channels.", old.Channels, next.Channels, ch.Channels)
		diff("topics.", old.Topics, next.Topics, ch.Topics)
		if len(changes) > 0 {
			if err := tx.Purposes().PutPreferences(ctx, next); err != nil {
				return err
			}
			changes["how"] = events.Change{After: src.How}
			if err := s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: ActionPreferences,
				TargetType: "user", TargetID: userID, Changes: changes}); err != nil {
				return err
			}
		}
		// A right is recorded when it changes: off is the state of a
		// right never exercised, so turning it off then records nothing.
		granted, err := Granted(ctx, tx, tenant, userID, false)
		if err != nil {
			return err
		}
		var ds []Decision
		for name, v := range map[string]*bool{DoNotSell: ch.DoNotSell, ObjectProfiling: ch.ObjectProfiling} {
			if v != nil && *v != slices.Contains(granted, name) {
				ds = append(ds, Decision{Purpose: name, State: stateOf(*v)})
			}
		}
		slices.SortFunc(ds, func(a, b Decision) int { return strings.Compare(a.Purpose, b.Purpose) })
		if _, err := s.record(ctx, tx, actor, tenant, userID, ds, src); err != nil {
			return err
		}
		out, err = s.preferences(ctx, tx, tenant, userID)
		return err
	})
	return out, err
}

// stateOf is the record state of a switch.
func stateOf(on bool) string {
	if on {
		return store.ConsentGranted
	}
	return store.ConsentWithdrawn
}
