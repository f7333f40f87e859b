package account

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Export is "download my data": everything the tenant holds about the
// user except secrets (no password hash, no token or cookie hashes).
type Export struct {
	ExportedAt time.Time       `json:"exported_at"`
	Profile    ExportProfile   `json:"profile"`
	Groups     []ExportGroup   `json:"groups"`
	Sessions   []ExportSession `json:"sessions"`
	Consents   []ExportConsent `json:"consents"`
	Audit      []ExportEvent   `json:"audit_events"`
}

// ExportProfile is the user record without its password hash.
type ExportProfile struct {
	ID            string          `json:"id"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Username      string          `json:"username,omitempty"`
	GivenName     string          `json:"given_name,omitempty"`
	FamilyName    string          `json:"family_name,omitempty"`
	Phone         string          `json:"phone,omitempty"`
	Locale        string          `json:"locale,omitempty"`
	Status        string          `json:"status"`
	Attributes    json.RawMessage `json:"attributes"`
	HasPassword   bool            `json:"has_password"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	LastLoginAt   *time.Time      `json:"last_login_at,omitempty"`
}

// ExportGroup is a group the user belongs to (directly or through nesting).
type ExportGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ExportSession is a live browser session.
type ExportSession struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Clients    []string  `json:"clients"`
}

// ExportConsent is an app the user granted access to.
type ExportConsent struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExportEvent is an audit entry about the user or by the user.
type ExportEvent struct {
	Time       time.Time       `json:"time"`
	Action     string          `json:"action"`
	ActorType  string          `json:"actor_type"`
	ActorID    string          `json:"actor_id"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	ClientIP   string          `json:"client_ip,omitempty"`
	Changes    json.RawMessage `json:"changes"`
}

// maxExportEvents bounds each audit query of an export.
const maxExportEvents = 1000

// Export gathers the user's data and audits that it was taken.
func (s *Service) Export(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) (*Export, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := &Export{ExportedAt: s.now(), Profile: ExportProfile{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Phone: u.Phone, Locale: u.Locale, Status: string(u.Status), Attributes: u.Attributes,
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt,
	}, Groups: []ExportGroup{}, Sessions: []ExportSession{}, Consents: []ExportConsent{}, Audit: []ExportEvent{}}
	groups, err := s.Directory.UserGroups(ctx, tenant, userID, true)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, ExportGroup{ID: g.ID, Name: g.Name})
	}
	sessions, err := s.Sessions.List(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, x := range sessions {
		out.Sessions = append(out.Sessions, ExportSession{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			ExpiresAt: x.ExpiresAt, IP: x.IP, UserAgent: x.UserAgent, Clients: x.Clients})
	}
	consents, err := s.Store.OAuth().Consents().ListConsents(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range consents {
		out.Consents = append(out.Consents, ExportConsent{ClientID: c.ClientID, Scopes: c.Scopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	seen := map[string]bool{}
	for _, q := range []store.AuditQuery{{TargetID: userID, Limit: maxExportEvents}, {ActorID: userID, Limit: maxExportEvents}} {
		es, err := s.Store.Audit().ListAudit(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			out.Audit = append(out.Audit, ExportEvent{Time: e.Time, Action: e.Action, ActorType: e.ActorType, ActorID: e.ActorID,
				TargetType: e.TargetType, TargetID: e.TargetID, ClientIP: e.ClientIP, Changes: e.Changes})
		}
	}
	err = s.record(ctx, actor, events.Entry{Tenant: tenant, Action: "user.export", TargetType: "user", TargetID: userID})
	return out, err
}
