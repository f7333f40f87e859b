// Package provision pushes a tenant's users and groups to outbound SCIM
// 2.0 targets (workforce IAM feeding business applications). A target has
// a base URL, a bearer token (sealed at rest, never answered), an
// attribute mapping and an optional scope of groups. Its Sink receives the
// outbox's events and pushes user and group creates, updates,
// deactivations (active:false when a user is disabled, deleted or leaves
// the scope) and memberships, keeping a link from our ids to the target's;
// a full sync pushes everything in scope, adopting objects the target
// already has. Failed pushes land in the target's error list and the
// outbox retries them. Every change of a target is audited. It knows
// nothing of HTTP: a Connector (internal/provision/scimclient) speaks SCIM.
package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Bounds of a target.
const (
	MaxTargets   = 100 // per tenant
	maxName      = 100
	maxToken     = 4096
	maxScope     = 50
	syncBatch    = 100
	syncDeadline = 6 * time.Hour
)

// RemoteError is a target's answer other than 2xx (Status), or no answer
// at all (Status 0). Detail is short text for the target's error list.
type RemoteError struct {
	Status int
	Detail string
}

func (e *RemoteError) Error() string {
	if e.Status == 0 {
		return "no answer: " + e.Detail
	}
	if e.Detail == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Detail)
}

func statusOf(err error) int {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}

// Remote is one target's SCIM API. kind is "Users" or "Groups". Errors
// from the target are *RemoteError.
type Remote interface {
	// Find answers the id of a resource whose attr equals value, "" when
	// none does.
	Find(ctx context.Context, kind, attr, value string) (string, error)
	Create(ctx context.Context, kind string, doc map[string]any) (string, error)
	Put(ctx context.Context, kind, id string, doc map[string]any) error
	Patch(ctx context.Context, kind, id string, ops ...map[string]any) error
	Delete(ctx context.Context, kind, id string) error
}

// Connector opens a Remote for a target's base URL and token.
type Connector interface {
	Open(baseURL, token string) Remote
}

// TokenAAD binds a target's sealed token to its row.
func TokenAAD(id string) []byte { return []byte("provisioning-target:" + id) }

// Service manages provisioning targets and pushes to them.
type Service struct {
	Store     store.Store
	Sealer    *seal.Sealer
	Audit     *events.Recorder
	Connector Connector
	Now       func() time.Time
	// Policy decides which base URLs are acceptable (https; http to
	// loopback only on development deployments).
	Policy connection.URLPolicy

	mu      sync.Mutex
	syncs   sync.WaitGroup
	cancels map[string]context.CancelFunc
	closed  bool
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Input is the body of a create (name, base_url and bearer_token
// required) or a partial update (absent fields unchanged).
type Input struct {
	Name             *string            `json:"name"`
	BaseURL          *string            `json:"base_url"`
	BearerToken      *string            `json:"bearer_token"`
	AttributeMapping *map[string]string `json:"attribute_mapping"`
	Groups           *[]string          `json:"groups"`
	Enabled          *bool              `json:"enabled"`
}

// View is a target as the API answers it (never its token).
type View struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	BaseURL          string            `json:"base_url"`
	AttributeMapping map[string]string `json:"attribute_mapping"`
	Groups           []string          `json:"groups"`
	Enabled          bool              `json:"enabled"`
	Sync             SyncView          `json:"sync"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// SyncView is the state of a target's last full sync.
type SyncView struct {
	State string     `json:"state"` // never, running, done, failed
	At    *time.Time `json:"at,omitempty"`
	Count int64      `json:"count"`
}

func view(t *store.ProvisioningTarget) View {
	v := View{ID: t.ID, Name: t.Name, BaseURL: t.BaseURL, AttributeMapping: maps.Clone(t.Mapping),
		Groups: slices.Clone(t.Groups), Enabled: t.Enabled,
		Sync:      SyncView{State: t.SyncState, At: t.SyncedAt, Count: t.SyncCount},
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if v.AttributeMapping == nil {
		v.AttributeMapping = map[string]string{}
	}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	if v.Sync.State == "" {
		v.Sync.State = "never"
	}
	return v
}

func fields(t *store.ProvisioningTarget) map[string]any {
	return map[string]any{"name": t.Name, "base_url": t.BaseURL, "attribute_mapping": maps.Clone(t.Mapping),
		"groups": slices.Clone(t.Groups), "enabled": t.Enabled}
}

// apply validates in and writes it into t (the token sealed); create
// demands name, base_url and bearer_token. Scope groups must be the
// tenant's.
func (s *Service) apply(ctx context.Context, repos store.Repos, t *store.ProvisioningTarget, in Input, create bool) (tokenChanged bool, err error) {
	var c valid.Collector
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxName {
			c.Add("name", "invalid", "A name of 1 to 100 characters.")
		}
		t.Name = n
	} else if create {
		c.Add("name", "required", "Name the target.")
	}
	if in.BaseURL != nil {
		if msg := s.Policy.Check(*in.BaseURL); msg != "" {
			c.Add("base_url", "invalid", msg)
		} else if strings.Contains(*in.BaseURL, "?") {
			c.Add("base_url", "invalid", "The SCIM base URL has no query.")
		}
		t.BaseURL = strings.TrimRight(*in.BaseURL, "/")
	} else if create {
		c.Add("base_url", "required", "The target's SCIM base URL, such as https://app.example.com/scim/v2.")
	}
	if in.BearerToken != nil {
		if !tokenOK(*in.BearerToken) {
			c.Add("bearer_token", "invalid", "A token of 1 to 4096 visible ASCII characters.")
		} else if t.Token, err = s.Sealer.Seal([]byte(*in.BearerToken), TokenAAD(t.ID)); err != nil {
			return false, err
		}
		tokenChanged = true
	} else if create {
		c.Add("bearer_token", "required", "The bearer token the target accepts.")
	}
	if in.AttributeMapping != nil {
		checkMapping(&c, *in.AttributeMapping)
		t.Mapping = maps.Clone(*in.AttributeMapping)
	}
	if in.Groups != nil {
		gs := slices.Compact(slices.Sorted(slices.Values(*in.Groups)))
		if len(gs) > maxScope {
			c.Add("groups", "too_long", "At most 50 groups.")
		} else {
			for _, g := range gs {
				if _, err := repos.Groups().GetGroup(ctx, t.Tenant, g); errors.Is(err, store.ErrNotFound) {
					c.Add("groups", "invalid", "Each entry is the id of one of the tenant's groups.")
					break
				} else if err != nil {
					return false, err
				}
			}
		}
		t.Groups = gs
	}
	if in.Enabled != nil {
		t.Enabled = *in.Enabled
	}
	return tokenChanged, c.Err()
}

func tokenOK(tok string) bool {
	if tok == "" || len(tok) > maxToken {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= 0x20 || tok[i] >= 0x7f {
			return false
		}
	}
	return true
}

func (s *Service) record(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, action, id string, ch events.Changes) error {
	return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action, TargetType: "provisioning_target",
		TargetID: id, Changes: ch})
}

// Create registers a target (provisioning_target.create; the token is
// recorded as set, never its value).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in Input) (*View, error) {
	t := &store.ProvisioningTarget{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Enabled: true}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := s.apply(ctx, tx, t, in, true); err != nil {
			return err
		}
		list, err := tx.Provisioning().ListTargets(ctx, tenant, store.Page{Limit: MaxTargets})
		if err != nil {
			return err
		}
		if len(list) >= MaxTargets {
			return valid.Field("name", "too_many", "A tenant has at most 100 provisioning targets.")
		}
		if err := tx.Provisioning().CreateTarget(ctx, t); err != nil {
			return err
		}
		ch := events.Diff(nil, fields(t))
		ch["bearer_token"] = events.Change{After: "(set)"}
		return s.record(ctx, tx, actor, tenant, "provisioning_target.create", t.ID, ch)
	})
	if err != nil {
		return nil, err
	}
	v := view(t)
	return &v, nil
}

// Get answers one target; store.ErrNotFound when the tenant has none
// with that id.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*View, error) {
	t, err := s.Store.Provisioning().GetTarget(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	v := view(t)
	return &v, nil
}

// List answers the tenant's targets.
func (s *Service) List(ctx context.Context, tenant store.TenantID) ([]View, error) {
	list, err := s.Store.Provisioning().ListTargets(ctx, tenant, store.Page{Limit: MaxTargets})
	if err != nil {
		return nil, err
	}
	out := make([]View, len(list))
	for i := range list {
		out[i] = view(&list[i])
	}
	return out, nil
}

// Update changes a target (provisioning_target.update).
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, in Input) (*View, error) {
	var out *store.ProvisioningTarget
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		var tokenChanged bool
		t, err := tx.Provisioning().UpdateTarget(ctx, tenant, id, func(t *store.ProvisioningTarget) error {
			before = fields(t)
			var err error
			tokenChanged, err = s.apply(ctx, tx, t, in, false)
			return err
		})
		if err != nil {
			return err
		}
		out = t
		ch := events.Diff(before, fields(t))
		if tokenChanged {
			ch["bearer_token"] = events.Change{Before: "(set)", After: "(changed)"}
		}
		if len(ch) == 0 {
			return nil
		}
		return s.record(ctx, tx, actor, tenant, "provisioning_target.update", id, ch)
	})
	if err != nil {
		return nil, err
	}
	v := view(out)
	return &v, nil
}

// Delete removes a target with its links and errors
// (provisioning_target.delete). What was pushed stays on the target.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	s.cancelSync(id)
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		t, err := tx.Provisioning().GetTarget(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Provisioning().DeleteTarget(ctx, tenant, id); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "provisioning_target.delete", id, events.Diff(fields(t), nil))
	})
}

// ErrorView is one entry of a target's error list.
type ErrorView struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	EventID    string    `json:"event_id,omitempty"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	Operation  string    `json:"operation"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error"`
}

// Errors answers the target's recent failed pushes, newest first;
// store.ErrNotFound when the tenant has no such target.
func (s *Service) Errors(ctx context.Context, tenant store.TenantID, id string) ([]ErrorView, error) {
	if _, err := s.Store.Provisioning().GetTarget(ctx, tenant, id); err != nil {
		return nil, err
	}
	list, err := s.Store.Provisioning().ListErrors(ctx, tenant, id, store.MaxProvisionErrors)
	if err != nil {
		return nil, err
	}
	out := make([]ErrorView, len(list))
	for i, e := range list {
		out[i] = ErrorView{ID: e.ID, At: e.At, EventID: e.EventID, ObjectType: e.Kind, ObjectID: e.LocalID,
			Operation: e.Operation, StatusCode: e.StatusCode, Error: e.Message}
	}
	return out, nil
}
