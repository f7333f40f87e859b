package privacy

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Export is "download my data": everything the tenant holds about the
// user except secrets (no password hash, no token or cookie hashes).
// It is the access and portability document (GDPR articles 15 and 20,
// CCPA's right to know), the same from the account page and the API.
type Export struct {
	ExportedAt   time.Time         `json:"exported_at"`
	Profile      ExportProfile     `json:"profile"`
	Emails       []string          `json:"emails"`
	Groups       []ExportGroup     `json:"groups"`
	Identities   []ExportIdentity  `json:"identities"`
	Factors      []ExportFactor    `json:"factors"`
	Sessions     []ExportSession   `json:"sessions"`
	Devices      []ExportDevice    `json:"devices"`
	Consents     []ExportConsent   `json:"consents"`
	Terms        []ExportTerms     `json:"terms_accepted"`
	Preferences  ExportPreferences `json:"preferences"`
	LoginHistory []ExportLogin     `json:"login_history"`
	LegalHold    bool              `json:"legal_hold"`
	Audit        []ExportEvent     `json:"audit_events"`
	Sections     map[string]any    `json:"sections,omitempty"`
}

// ExportIdentity is an account at an upstream identity provider linked
// to the user (its tokens stay out).
type ExportIdentity struct {
	ConnectionID string    `json:"connection_id"`
	Subject      string    `json:"subject"`
	Email        string    `json:"email,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	LastLoginAt  time.Time `json:"last_login_at"`
}

// ExportFactor is a second factor's metadata; its secret stays out.
type ExportFactor struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name,omitempty"`
	Confirmed  bool       `json:"confirmed"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// ExportDevice is a browser the user signed in from (its device cookie).
type ExportDevice struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ExportTerms is a terms document the user accepted.
type ExportTerms struct {
	Document   string    `json:"document"`
	Version    string    `json:"version"`
	AcceptedAt time.Time `json:"accepted_at"`
	IP         string    `json:"ip,omitempty"`
}

// ExportPreferences are the user's communication choices held here.
type ExportPreferences struct {
	NoticesMuted bool `json:"notices_muted"`
}

// ExportLogin is one known sign-in: the last one, each session's start
// and each linked identity's last use.
type ExportLogin struct {
	Time      time.Time `json:"time"`
	Via       string    `json:"via"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// GroupLister answers a user's groups (directory.Service).
type GroupLister interface {
	UserGroups(ctx context.Context, tenant store.TenantID, userID string, transitive bool) ([]store.Group, error)
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

// Export gathers the user's data, the audit entries about it opened, and
// audits that it was taken (user.export). ErrNotFound for an unknown or
// erased user.
func (s *Service) Export(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) (*Export, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out, err := s.gather(ctx, u)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "user.export", TargetType: "user", TargetID: userID})
	})
	return out, err
}

func (s *Service) gather(ctx context.Context, u *store.User) (*Export, error) {
	tenant, userID := u.Tenant, u.ID
	out := &Export{ExportedAt: s.now(), Profile: ExportProfile{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Phone: u.Phone, Locale: u.Locale, Status: string(u.Status), Attributes: u.Attributes,
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt,
	}, Groups: []ExportGroup{}, Sessions: []ExportSession{}, Consents: []ExportConsent{}, Audit: []ExportEvent{},
		Identities: []ExportIdentity{}, Factors: []ExportFactor{}, Devices: []ExportDevice{}, Terms: []ExportTerms{},
		LoginHistory: []ExportLogin{}}
	if u.LastLoginAt != nil {
		out.LoginHistory = append(out.LoginHistory, ExportLogin{Time: *u.LastLoginAt, Via: "last_sign_in"})
	}
	var err error
	if out.Emails, err = emails(ctx, s.Store, u); err != nil {
		return nil, err
	}
	groups, err := s.Groups.UserGroups(ctx, tenant, userID, true)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, ExportGroup{ID: g.ID, Name: g.Name})
	}
	sessions, err := s.Store.OAuth().Sessions().ListUserSessions(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, x := range sessions {
		out.Sessions = append(out.Sessions, ExportSession{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			ExpiresAt: x.ExpiresAt, IP: x.IP, UserAgent: x.UserAgent, Clients: x.Clients})
		out.LoginHistory = append(out.LoginHistory, ExportLogin{Time: x.CreatedAt, Via: "session", IP: x.IP, UserAgent: x.UserAgent})
	}
	ids, err := s.Store.Connections().Identities().ListUserIdentities(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, x := range ids {
		out.Identities = append(out.Identities, ExportIdentity{ConnectionID: x.ConnectionID, Subject: x.Subject, Email: x.Email,
			CreatedAt: x.CreatedAt, LastLoginAt: x.LastLoginAt})
		out.LoginHistory = append(out.LoginHistory, ExportLogin{Time: x.LastLoginAt, Via: "connection:" + x.ConnectionID})
	}
	factors, err := s.Store.MFA().Factors().ListFactors(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, f := range factors {
		out.Factors = append(out.Factors, ExportFactor{ID: f.ID, Kind: f.Kind, Name: f.Name, Confirmed: f.Confirmed,
			CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt})
	}
	devices, err := s.Store.OAuth().Recognition().ListDevices(ctx, tenant, userID, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, d := range devices {
		out.Devices = append(out.Devices, ExportDevice{ID: d.ID, CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt, ExpiresAt: d.ExpiresAt})
	}
	terms, err := s.Store.SelfService().Acceptances().ListAcceptances(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	for _, a := range terms {
		out.Terms = append(out.Terms, ExportTerms{Document: a.Document, Version: a.Version, AcceptedAt: a.AcceptedAt, IP: a.IP})
	}
	if out.Preferences.NoticesMuted, err = s.Store.SelfService().NoticePrefs().NoticesMuted(ctx, tenant, userID); err != nil {
		return nil, err
	}
	if out.LegalHold, err = s.Hold(ctx, tenant, userID); err != nil {
		return nil, err
	}
	for _, sec := range s.Sections {
		v, err := sec.ExportUser(ctx, s.Store, tenant, userID)
		if err != nil {
			return nil, err
		}
		if out.Sections == nil {
			out.Sections = map[string]any{}
		}
		out.Sections[sec.SectionName()] = v
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
		if err := s.OpenAudit(ctx, es); err != nil {
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
	return out, nil
}

// ProfileCSV writes the export's profile as CSV: a header row and one row
// of values (portability in a format any spreadsheet opens). Values that
// a spreadsheet would run as a formula are prefixed with a quote.
func ProfileCSV(w io.Writer, e *Export) error {
	p := e.Profile
	last := ""
	if p.LastLoginAt != nil {
		last = p.LastLoginAt.UTC().Format(time.RFC3339)
	}
	rows := [][2]string{
		{"id", p.ID}, {"email", p.Email}, {"email_verified", strconv.FormatBool(p.EmailVerified)},
		{"username", p.Username}, {"given_name", p.GivenName}, {"family_name", p.FamilyName}, {"phone", p.Phone},
		{"locale", p.Locale}, {"status", p.Status}, {"attributes", string(p.Attributes)},
		{"has_password", strconv.FormatBool(p.HasPassword)}, {"created_at", p.CreatedAt.UTC().Format(time.RFC3339)},
		{"updated_at", p.UpdatedAt.UTC().Format(time.RFC3339)}, {"last_login_at", last},
		{"emails", strings.Join(e.Emails, " ")},
	}
	head, vals := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		head[i], vals[i] = r[0], safeCell(r[1])
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	if err := cw.Write(vals); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// safeCell defuses CSV formula injection.
func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
