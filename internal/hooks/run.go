package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

// Bounds of an answer.
const (
	maxAnswer      = 64 << 10
	maxMessageLen  = 500
	maxMessageLang = 20
)

// Message is a text for the user by language tag ("en", "de-CH", ...).
type Message map[string]string

// In answers the text for lang: the exact tag, else its base language,
// else English, else the first tag in order; "" when there is none.
func (m Message) In(lang string) string {
	if t, ok := m[lang]; ok {
		return t
	}
	if base, _, ok := strings.Cut(lang, "-"); ok {
		if t, ok := m[base]; ok {
			return t
		}
	}
	if t, ok := m["en"]; ok {
		return t
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		return m[k]
	}
	return ""
}

// DeniedError is a hook's refusal: the sign-up, login or token request
// ends and the pages show Message (escaped) in the user's language, or a
// generic sentence when the hook gave none. A hook that failed with
// on_failure "deny" answers it too, without a message.
type DeniedError struct {
	Trigger string
	Message Message
}

func (e *DeniedError) Error() string { return "hooks: denied by the " + e.Trigger + " hook" }

// Call describes the sign-up, login or token request in flight.
type Call struct {
	Tenant store.TenantID
	// User is the account (post_login, pre_token); nil at pre_registration.
	User *store.User
	// Email is the address signing up (pre_registration).
	Email string
	// ClientID and Scopes name the client and the granted scopes (pre_token).
	ClientID string
	Scopes   []string
	// AMR are the login's authentication methods (post_login, pre_token).
	AMR []string
	// IP and UserAgent are the browser's, where a browser is present.
	IP, UserAgent string
	// Lang is the language the user sees pages in.
	Lang string
}

// Result is what an allowing answer adds.
type Result struct {
	// Attributes are profile attributes for the new account
	// (pre_registration): a JSON object the directory accepts.
	Attributes json.RawMessage
	// Claims are added to the ID and access tokens (pre_token), already
	// limited to the hook's allowed claims and without reserved ones.
	Claims map[string]any
}

// answer is the hook's reply.
type answer struct {
	Decision   string          `json:"decision"`
	Message    json.RawMessage `json:"message"`
	Claims     map[string]any  `json:"claims"`
	Attributes json.RawMessage `json:"attributes"`
}

// body is what a hook receives.
type body struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Tenant    tenantInfo  `json:"tenant"`
	Trigger   string      `json:"trigger"`
	User      userInfo    `json:"user"`
	Client    *clientInfo `json:"client,omitempty"`
	AMR       []string    `json:"amr,omitempty"`
	Request   requestInfo `json:"request"`
}

type tenantInfo struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

type userInfo struct {
	ID            string          `json:"id,omitempty"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Username      string          `json:"username,omitempty"`
	GivenName     string          `json:"given_name,omitempty"`
	FamilyName    string          `json:"family_name,omitempty"`
	Locale        string          `json:"locale,omitempty"`
	Attributes    json.RawMessage `json:"attributes,omitempty"`
}

type clientInfo struct {
	ID     string   `json:"id"`
	Scopes []string `json:"scopes"`
}

type requestInfo struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Locale    string `json:"locale,omitempty"`
}

// Run calls the tenant's hook of trigger, if it has one, and answers what
// it adds. A refusal is *DeniedError. A hook that fails (unreachable,
// not 2xx, an answer that is not one, or no answer within its timeout)
// is audited as hook.failed and then allows (nil) or denies
// (*DeniedError without a message) per its on_failure. Other errors are
// the store's. A nil Service runs nothing.
func (s *Service) Run(ctx context.Context, trigger string, c Call) (Result, error) {
	if s == nil {
		return Result{}, nil
	}
	h, err := s.Store.Hooks().HookFor(ctx, c.Tenant, trigger)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	res, deny, reason := s.call(ctx, h, c)
	switch {
	case reason != "":
		s.audit(ctx, h, c, "hook.failed", reason)
		if h.OnFailure == store.HookFailDeny {
			return Result{}, &DeniedError{Trigger: trigger}
		}
		return Result{}, nil
	case deny != nil:
		s.audit(ctx, h, c, "hook.denied", "")
		return Result{}, deny
	}
	return res, nil
}

// call makes the request within the hook's deadline and reads the answer;
// reason is why the hook failed ("" when it answered).
func (s *Service) call(ctx context.Context, h *store.Hook, c Call) (Result, *DeniedError, string) {
	timeout := time.Duration(h.TimeoutMS) * time.Millisecond
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t, err := s.Store.Tenants().GetTenant(ctx, c.Tenant)
	if err != nil {
		return Result{}, nil, "cannot read the tenant"
	}
	payload, err := s.payload(t, h, c)
	if err != nil {
		return Result{}, nil, "cannot build the request"
	}
	secret, err := s.secret(h)
	if err != nil {
		return Result{}, nil, "cannot open the hook's secret"
	}
	now := s.Now()
	headers, err := whsig.Headers([]string{secret}, "msg_"+uuid.Must(uuid.NewV7()).String(), now, payload)
	if err != nil {
		return Result{}, nil, "cannot sign the request"
	}
	headers["Content-Type"] = "application/json"
	status, raw, err := s.Poster.Post(ctx, h.URL, headers, payload, maxAnswer)
	switch {
	case ctx.Err() != nil:
		return Result{}, nil, fmt.Sprintf("no answer within %d ms", h.TimeoutMS)
	case err != nil:
		return Result{}, nil, "request failed: " + err.Error()
	case status < 200 || status > 299:
		return Result{}, nil, fmt.Sprintf("answered status %d", status)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return Result{}, nil, "the answer is not a JSON object"
	}
	switch a.Decision {
	case "deny":
		return Result{}, &DeniedError{Trigger: h.Trigger, Message: parseMessage(a.Message)}, ""
	case "allow":
	default:
		return Result{}, nil, `the answer's decision is neither "allow" nor "deny"`
	}
	var res Result
	switch h.Trigger {
	case store.HookPreToken:
		for k, v := range a.Claims {
			if slices.Contains(h.AllowedClaims, k) && v != nil {
				if res.Claims == nil {
					res.Claims = map[string]any{}
				}
				res.Claims[k] = v
			}
		}
	case store.HookPreRegistration:
		if len(a.Attributes) > 0 && string(a.Attributes) != "null" {
			sc, err := tenancy.ProfileSchemaOf(t)
			if err != nil {
				return Result{}, nil, "cannot read the tenant's profile schema"
			}
			if why := directory.AttributesProblem(sc, a.Attributes); why != "" {
				return Result{}, nil, "the answer's attributes are not acceptable: " + why
			}
			res.Attributes = a.Attributes
		}
	}
	return res, nil, ""
}

// payload is the JSON the hook receives.
func (s *Service) payload(t *store.Tenant, h *store.Hook, c Call) ([]byte, error) {
	b := body{Type: h.Trigger, Timestamp: s.Now().UTC(), Tenant: tenantInfo{ID: string(t.ID), Slug: t.Slug},
		Trigger: h.Trigger, Request: requestInfo{IP: c.IP, UserAgent: c.UserAgent, Locale: c.Lang}}
	if u := c.User; u != nil {
		b.User = userInfo{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
			GivenName: u.GivenName, FamilyName: u.FamilyName, Locale: u.Locale, Attributes: u.Attributes}
	} else {
		b.User = userInfo{Email: c.Email}
	}
	if h.Trigger != store.HookPreRegistration {
		b.AMR = c.AMR
	}
	if h.Trigger == store.HookPreToken {
		b.Client = &clientInfo{ID: c.ClientID, Scopes: c.Scopes}
		if b.Client.Scopes == nil {
			b.Client.Scopes = []string{}
		}
	}
	return json.Marshal(b)
}

// parseMessage reads a message given as a string (taken as English) or
// as an object of texts by language; texts are cut to maxMessageLen
// characters, languages to maxMessageLang.
func parseMessage(raw json.RawMessage) Message {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one = clip(one); one == "" {
			return nil
		}
		return Message{"en": one}
	}
	var many map[string]string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil
	}
	out := Message{}
	for _, k := range slices.Sorted(maps.Keys(many)) {
		if len(out) == maxMessageLang {
			break
		}
		if t := clip(many[k]); t != "" && len(k) <= 35 {
			out[k] = t
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// clip trims t and cuts it to maxMessageLen characters.
func clip(t string) string {
	t = strings.TrimSpace(t)
	if utf8.RuneCountInString(t) <= maxMessageLen {
		return t
	}
	return string([]rune(t)[:maxMessageLen])
}

// audit records a hook's failure or refusal with the trigger, the hook
// and the reason, never the request or answer body. It runs after the
// deadline may have passed, so it does not inherit the call's
// cancellation; an audit failure is logged and does not change the outcome.
func (s *Service) audit(ctx context.Context, h *store.Hook, c Call, action, reason string) {
	ctx = context.WithoutCancel(ctx)
	changes := events.Changes{"trigger": {After: h.Trigger}, "on_failure": {After: h.OnFailure}}
	if reason != "" {
		changes["reason"] = events.Change{After: reason}
	}
	if c.User != nil {
		changes["user_id"] = events.Change{After: c.User.ID}
	}
	actor := events.Actor{Type: "system", ID: "hooks", ClientIP: c.IP}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: h.Tenant, Action: action,
			TargetType: "hook", TargetID: h.ID, Changes: changes})
	})
	if err != nil && s.Log != nil {
		s.Log.ErrorContext(ctx, "hooks: audit", "action", action, "hook", h.ID, "err", err)
	}
}
