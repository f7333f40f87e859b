// Package hooks runs a tenant's synchronous hooks: at sign-up before the
// account exists (pre_registration), after authentication before the
// session (post_login) and when tokens are minted (pre_token), Gatehouse
// POSTs a description of what is happening to the tenant's URL, signed as
// Standard Webhooks messages are (internal/whsig), and follows the
// answer: deny with a message for the user, or allow and add profile
// attributes (pre_registration) or claims within the hook's allow-list
// (pre_token). A hook that fails or times out follows its on_failure
// policy and is audited; a login never waits longer than the hook's
// timeout. It also registers hooks (validated, secrets sealed, audited).
// It knows nothing of HTTP: the caller gives it a Poster (the API edge
// wires one over internal/safehttp).
package hooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

// Bounds of a hook's timeout and of its claim allow-list.
const (
	MinTimeout     = 100 * time.Millisecond
	MaxTimeout     = 10 * time.Second
	DefaultTimeout = 2 * time.Second
	maxClaims      = 32
)

// Poster sends one signed request. It answers the status and at most
// limit bytes of the body; it must give up when ctx ends (the hook's
// deadline) and must not follow redirects.
type Poster interface {
	Post(ctx context.Context, url string, headers map[string]string, body []byte, limit int64) (int, []byte, error)
}

// Service registers and runs hooks.
type Service struct {
	Store  store.Store
	Audit  *events.Recorder
	Sealer *seal.Sealer
	Poster Poster
	// Policy says which URLs a hook may have (https; http to loopback only
	// on a development deployment).
	Policy connection.URLPolicy
	Now    func() time.Time
	Log    *slog.Logger
	// Rand, when set, is read for secrets (tests); nil is crypto/rand.
	Rand io.Reader
}

// NewHook is the input of Create.
type NewHook struct {
	Trigger       string   `json:"trigger"`
	URL           string   `json:"url"`
	TimeoutMS     int      `json:"timeout_ms"`
	OnFailure     string   `json:"on_failure"`
	AllowedClaims []string `json:"allowed_claims"`
}

// Patch changes the fields that are set. The trigger cannot change.
type Patch struct {
	URL           *string   `json:"url,omitempty"`
	TimeoutMS     *int      `json:"timeout_ms,omitempty"`
	OnFailure     *string   `json:"on_failure,omitempty"`
	AllowedClaims *[]string `json:"allowed_claims,omitempty"`
}

var triggers = []string{store.HookPreRegistration, store.HookPostLogin, store.HookPreToken}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func aad(tenant store.TenantID, id string) []byte {
	return []byte(string(tenant) + "/" + id + "/hook_secret")
}

// secret opens h's signing secret.
func (s *Service) secret(h *store.Hook) (string, error) {
	b, err := s.Sealer.Open(h.SealedSecret, aad(h.Tenant, h.ID))
	return string(b), err
}

// check validates h as a whole, naming each offending field.
func (s *Service) check(c *valid.Collector, h *store.Hook) {
	if !slices.Contains(triggers, h.Trigger) {
		c.Add("trigger", "invalid", "Use one of pre_registration, post_login, pre_token.")
	}
	if h.URL == "" {
		c.Add("url", "required", "A hook needs the URL it is called at.")
	} else if why := s.Policy.Check(h.URL); why != "" {
		c.Add("url", "invalid", why)
	}
	if t := time.Duration(h.TimeoutMS) * time.Millisecond; t < MinTimeout || t > MaxTimeout {
		c.Add("timeout_ms", "out_of_range", "A timeout is 100 to 10000 milliseconds.")
	}
	if h.OnFailure != store.HookFailAllow && h.OnFailure != store.HookFailDeny {
		c.Add("on_failure", "invalid", "Use allow or deny.")
	}
	if len(h.AllowedClaims) > 0 && h.Trigger != store.HookPreToken {
		c.Add("allowed_claims", "invalid", "Only a pre_token hook adds claims.")
	}
	if len(h.AllowedClaims) > maxClaims {
		c.Add("allowed_claims", "too_many", "At most 32 claim names.")
	}
	for _, n := range h.AllowedClaims {
		switch {
		case !oauthclient.ValidClaimName(n):
			c.Add("allowed_claims", "invalid", "A claim name has 1 to 128 letters, digits, _ . : / or -, starting with a letter or _.")
		case oauthclient.ReservedClaim(n), oauthclient.ProfileClaim(n):
			c.Add("allowed_claims", "reserved", "Protocol and profile claims (sub, iss, aud, exp, email, name, groups, ...) cannot be added by a hook.")
		default:
			continue
		}
		return
	}
}

func normalise(h *store.Hook) {
	h.URL = strings.TrimSpace(h.URL)
	slices.Sort(h.AllowedClaims)
	h.AllowedClaims = slices.Compact(h.AllowedClaims)
}

// auditFields is what the audit log shows of a hook: never its secret.
func auditFields(h *store.Hook) map[string]any {
	return map[string]any{"trigger": h.Trigger, "url": h.URL, "timeout_ms": h.TimeoutMS,
		"on_failure": h.OnFailure, "allowed_claims": h.AllowedClaims}
}

// Create registers a hook of tenant and answers it with its signing
// secret ("whsec_..."), which is shown this once.
// Errors: *valid.Error, *valid.Conflict (a hook of the trigger exists),
// store.ErrNotFound (no such tenant).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewHook) (*store.Hook, string, error) {
	h := &store.Hook{Tenant: tenant, Trigger: in.Trigger, URL: in.URL, TimeoutMS: in.TimeoutMS,
		OnFailure: in.OnFailure, AllowedClaims: slices.Clone(in.AllowedClaims)}
	if h.TimeoutMS == 0 {
		h.TimeoutMS = int(DefaultTimeout / time.Millisecond)
	}
	if h.OnFailure == "" {
		h.OnFailure = store.HookFailDeny
	}
	normalise(h)
	var c valid.Collector
	s.check(&c, h)
	if err := c.Err(); err != nil {
		return nil, "", err
	}
	var (
		secret string
		err    error
	)
	if s.Rand != nil {
		secret, err = whsig.NewSecret(s.Rand)
	} else {
		secret, err = whsig.NewRandomSecret()
	}
	if err != nil {
		return nil, "", err
	}
	h.ID = uuid.Must(uuid.NewV7()).String()
	if h.SealedSecret, err = s.Sealer.Seal([]byte(secret), aad(tenant, h.ID)); err != nil {
		return nil, "", err
	}
	h.CreatedAt = s.now()
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := tx.Hooks().CreateHook(ctx, h); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "trigger", Cause: err}
			}
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "hook.create",
			TargetType: "hook", TargetID: h.ID, Changes: events.Diff(nil, auditFields(h))})
	})
	if err != nil {
		return nil, "", err
	}
	return h, secret, nil
}

// validID: hook ids are UUIDv7 strings in canonical form; anything else
// names no hook (and never reaches a query).
func validID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return store.ErrNotFound
	}
	return nil
}

// Get answers store.ErrNotFound when id is not a hook of tenant.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*store.Hook, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.Store.Hooks().GetHook(ctx, tenant, id)
}

// List answers a page of the tenant's hooks in creation order.
func (s *Service) List(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Hook, error) {
	return s.Store.Hooks().ListHooks(ctx, tenant, p)
}

// Update applies p when version (if non-zero) is current; the hook is
// validated as a whole after the change.
// Errors: *valid.Error, store.ErrNotFound, store.ErrPrecondition.
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p Patch) (*store.Hook, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var out *store.Hook
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		h, err := tx.Hooks().UpdateHook(ctx, tenant, id, func(h *store.Hook) error {
			if version != 0 && version != h.Version {
				return store.ErrPrecondition
			}
			before = auditFields(h)
			if p.URL != nil {
				h.URL = *p.URL
			}
			if p.TimeoutMS != nil {
				h.TimeoutMS = *p.TimeoutMS
			}
			if p.OnFailure != nil {
				h.OnFailure = *p.OnFailure
			}
			if p.AllowedClaims != nil {
				h.AllowedClaims = slices.Clone(*p.AllowedClaims)
			}
			normalise(h)
			var c valid.Collector
			s.check(&c, h)
			return c.Err()
		})
		if err != nil {
			return err
		}
		out = h
		changes := events.Diff(before, auditFields(h))
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "hook.update",
			TargetType: "hook", TargetID: id, Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes a hook; store.ErrNotFound when there is none.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		h, err := tx.Hooks().GetHook(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Hooks().DeleteHook(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "hook.delete",
			TargetType: "hook", TargetID: id, Changes: events.Diff(auditFields(h), nil)})
	})
}
