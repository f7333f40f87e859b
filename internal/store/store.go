package store

import (
	"context"
	"time"
)

// TenantID identifies a tenant (a UUIDv7 string). It is a distinct type so a
// tenant cannot be passed where a user or group id is expected.
type TenantID string

// PlatformTenant owns platform-wide API keys and the audit chain of tenant
// management itself. It is never a row of the tenants table.
const PlatformTenant TenantID = "_platform"

// Repos is the set of aggregate stores; both Store and Tx provide it.
type Repos interface {
	Tenants() Tenants
	Users() Users
	Groups() Groups
	APIKeys() APIKeys
	Audit() AuditLog
	SigningKeys() SigningKeys
	// OAuth answers the OpenID provider's aggregates (oauth.go).
	OAuth() OAuthRepos
	// Authz answers the roles, elevations and reviews aggregates (authz.go).
	Authz() AuthzRepos
	// SelfService answers sign-up, recovery and mail aggregates (selfservice.go).
	SelfService() SelfServiceRepos
	// Connections answers upstream identity providers, linked identities
	// and broker states (connections.go).
	Connections() ConnectionRepos
	// SAML answers the SAML identity provider's aggregates (saml.go).
	SAML() SAMLRepos
	// Directory answers the filtered directory reads (dirfilter.go).
	Directory() DirSearch
	// MFA answers second factors and recovery codes (mfa.go).
	MFA() MFARepos
	// Logins answers the login flow's requests (login.go).
	Logins() LoginRequests
	// Proxy answers forward authentication's applications, codes and
	// sessions (proxy.go).
	Proxy() ProxyRepos
	// Imports answers bulk import jobs and external ids (imports.go).
	Imports() Imports
	// TenantData answers a tenant's rows as a whole: purge, export and
	// import (tenantdata.go).
	TenantData() TenantData
	// Usage answers plans, subscriptions and usage metering (usage.go).
	Usage() UsageRepos
	// SSF answers Shared Signals streams, subjects and queued SETs (ssf.go).
	SSF() SSFRepos
	// Privacy answers data-subject rights: data keys, legal holds,
	// erasure, requests and retention (privacy.go).
	Privacy() PrivacyRepos
	// SignIns answers the risk engine's record of completed sign-ins
	// (signins.go).
	SignIns() SignIns
	// Events answers the event outbox, webhooks and deliveries (events.go).
	Events() EventRepos
	// Provisioning answers outbound SCIM targets (provisioning.go).
	Provisioning() Provisioning
	// RiskModels answers the learned risk model's training data and
	// versions (riskmodels.go).
	RiskModels() RiskModels
	// Profiles answers users' progressive-profiling progress (profiles.go).
	Profiles() Profiles
	// Hooks answers the tenants' synchronous hooks (hooks.go).
	Hooks() Hooks
	// Purposes answers consent purposes, consent records and
	// communication preferences (purposes.go).
	Purposes() ConsentPurposes
	// Dashboard answers the console dashboard's per-minute rollups
	// (dashboard.go).
	Dashboard() DashboardRepos
	// Console answers the admin console's setup tokens and clients (console.go).
	Console() Console
	// Domains answers the tenants' custom domains (domains.go).
	Domains() Domains
	// TLS answers the ACME client's shared storage (domains.go).
	TLS() TLSStorage
	// Queues answers the outgoing queues' backlogs (domains.go).
	Queues() QueueStats
}

// Store is a storage backend. Calls made through its repos each run in
// their own transaction (update closures included).
type Store interface {
	Repos
	// InTx runs fn inside one transaction: all of fn's calls through tx
	// commit together, or none do when fn returns an error (which InTx
	// returns unchanged) or panics.
	InTx(ctx context.Context, fn func(tx Repos) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Dialect names the backend: "sqlite" or "postgres".
	Dialect() string
	Close() error
}

// Page bounds a list call: records with an id greater than After, at most
// Limit of them (backends clamp Limit to 1..1000, default 50), ordered by id.
// UUIDv7 ids make that order the creation order.
type Page struct {
	After string
	Limit int
}

// ClampLimit applies Page's documented bounds.
func (p Page) ClampLimit() int {
	switch {
	case p.Limit <= 0:
		return 50
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// Tenants stores tenants. Tenants are the one aggregate not scoped by a tenant.
type Tenants interface {
	// CreateTenant inserts t; ErrConflict when the slug is taken.
	CreateTenant(ctx context.Context, t *Tenant) error
	GetTenant(ctx context.Context, id TenantID) (*Tenant, error)
	GetTenantBySlug(ctx context.Context, slug string) (*Tenant, error)
	// ListTenants answers a page of the tenants that are not deleted.
	ListTenants(ctx context.Context, p Page) ([]Tenant, error)
	// ListPurgeDue answers up to limit deleted tenants whose purge time is
	// at or before now, the earliest first.
	ListPurgeDue(ctx context.Context, now time.Time, limit int) ([]Tenant, error)
	UpdateTenant(ctx context.Context, id TenantID, fn func(*Tenant) error) (*Tenant, error)
	// DeleteTenant removes the tenant and everything it owns except its
	// audit entries, which outlive it.
	DeleteTenant(ctx context.Context, id TenantID) error
}

// Users stores the directory's users.
type Users interface {
	// CreateUser inserts u (ID, Tenant and EmailNorm set by the caller);
	// ErrConflict when the email or username is taken in the tenant,
	// ErrNotFound when the tenant does not exist.
	CreateUser(ctx context.Context, u *User) error
	// InsertUsers is the bulk path (imports, seeding): all or nothing.
	InsertUsers(ctx context.Context, tenant TenantID, users []User) error
	GetUser(ctx context.Context, tenant TenantID, id string) (*User, error)
	// GetUserCached is GetUser for the token path (introspection,
	// userinfo), answered from this node's memory when it can: an entry
	// is dropped the moment the user is updated, erased or deleted through
	// any node (ChangeUser, ChangeFeed) and trusted for a second at most,
	// so a change this node cannot hear of shows within a second.
	// PasswordHash and LastLoginAt are left empty. Inside a transaction it
	// is GetUser. Never the read of a read-modify-write.
	GetUserCached(ctx context.Context, tenant TenantID, id string) (*User, error)
	// GetUserByEmail looks up by the normalised email.
	GetUserByEmail(ctx context.Context, tenant TenantID, emailNorm string) (*User, error)
	// GetUserByUsername looks up by the normalised username.
	GetUserByUsername(ctx context.Context, tenant TenantID, usernameNorm string) (*User, error)
	// GetUserBySkeleton answers a user of tenant, other than
	// exceptID, whose email or username has the confusable skeleton skel
	// (ident.Skeleton of the value as shown, which the store derives on
	// every write): an account that looks like the one being written.
	// ErrNotFound when there is none.
	GetUserBySkeleton(ctx context.Context, tenant TenantID, skel, exceptID string) (*User, error)
	UpdateUser(ctx context.Context, tenant TenantID, id string, fn func(*User) error) (*User, error)
	// RecordLogin notes a successful login at at and, when newHash is not
	// "", replaces the password hash only if it is still oldHash (an
	// upgrade of the hashing parameters). It changes neither Version nor
	// UpdatedAt: a login is not an edit, and must not make an
	// administrator's If-Match stale. ErrNotFound when there is no user.
	RecordLogin(ctx context.Context, tenant TenantID, id string, at time.Time, oldHash, newHash string) error
	// DeleteUser removes the user and its group memberships.
	DeleteUser(ctx context.Context, tenant TenantID, id string) error
	// SearchUsers answers users matching every set field of q, by id.
	SearchUsers(ctx context.Context, tenant TenantID, q UserQuery) ([]User, error)
	CountUsers(ctx context.Context, tenant TenantID) (int64, error)
	SCIMUsers
}

// UserQuery filters SearchUsers; empty fields do not filter.
type UserQuery struct {
	EmailNorm    string
	UsernameNorm string
	Status       UserStatus
	// GroupID keeps members of the group; with Transitive, also members of
	// groups nested in it at any depth.
	GroupID    string
	Transitive bool
	// AttrKey/AttrValue keep users whose attribute AttrKey (a top-level key)
	// is the string AttrValue.
	AttrKey   string
	AttrValue string
	// Prefix keeps users whose normalised email, normalised username, given
	// name or family name starts with it (case-insensitive).
	Prefix string
	Page
}

// Groups stores groups and their members (users and nested groups).
type Groups interface {
	// CreateGroup inserts g; ErrConflict when the name is taken.
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, tenant TenantID, id string) (*Group, error)
	ListGroups(ctx context.Context, tenant TenantID, p Page) ([]Group, error)
	UpdateGroup(ctx context.Context, tenant TenantID, id string, fn func(*Group) error) (*Group, error)
	// DeleteGroup removes the group and its memberships in both directions.
	DeleteGroup(ctx context.Context, tenant TenantID, id string) error
	// AddMember adds a user or a group to group groupID. ErrNotFound when
	// either side is missing in the tenant, ErrConflict when already a
	// member, ErrCycle when a group would contain itself at any depth.
	AddMember(ctx context.Context, tenant TenantID, groupID string, m Member) error
	// RemoveMember: ErrNotFound when m is not a direct member.
	RemoveMember(ctx context.Context, tenant TenantID, groupID string, m Member) error
	// ListMembers lists direct members, users and groups, by id.
	ListMembers(ctx context.Context, tenant TenantID, groupID string, p Page) ([]Member, error)
	// UserGroups lists the groups the user is a direct member of, or with
	// transitive also every group that contains those, by id.
	UserGroups(ctx context.Context, tenant TenantID, userID string, transitive bool) ([]Group, error)
	SCIMGroups
}

// APIKeys stores management API keys (only their hashes).
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKeyByHash finds a key by the hash of its token, in any tenant:
	// it is how a request's tenant is learnt. ErrNotFound when none.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	ListAPIKeys(ctx context.Context, tenant TenantID) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, tenant TenantID, id string, fn func(*APIKey) error) (*APIKey, error)
	// TouchAPIKey records a use; at most once a minute is written.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// AuditLog stores the hash-chained audit log, one chain per tenant.
type AuditLog interface {
	// AppendAudit gives e the next sequence number of its tenant's chain,
	// links it to the previous entry (PrevHash, Hash via e.ComputeHash) and
	// stores it. Appends to one chain are serialised across processes.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit answers entries newest first.
	ListAudit(ctx context.Context, tenant TenantID, q AuditQuery) ([]AuditEntry, error)
	// ScanAudit calls fn for every entry of the chain in sequence order.
	ScanAudit(ctx context.Context, tenant TenantID, fn func(AuditEntry) error) error
	// AuditHead answers the chain head as the appends left it: written in
	// the transaction of every append, it is what the entries must end
	// in. The zero head (no error) when the tenant has no entry yet.
	AuditHead(ctx context.Context, tenant TenantID) (AuditChainHead, error)
}

// AuditQuery filters ListAudit; empty fields do not filter.
type AuditQuery struct {
	Action     string
	ActorID    string
	TargetType string
	TargetID   string
	Since      time.Time
	Until      time.Time
	// BeforeSeq pages backwards: entries with Seq < BeforeSeq (0: from the newest).
	BeforeSeq int64
	Limit     int
}

// SigningKeys stores a tenant's signing keys, private halves sealed.
type SigningKeys interface {
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	ListSigningKeys(ctx context.Context, tenant TenantID) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, tenant TenantID, id string, fn func(*SigningKey) error) (*SigningKey, error)
}

// Change says that records a node may hold in memory have changed, on this
// node or another: a client (ID set), a user (ID set), a tenant (its settings, slug or
// state; and with it everything of the tenant), a tenant's signing keys,
// a tenant's synchronous hooks (ID the hook's), or anything at all
// (ChangeAll: notifications may have been missed). A subscriber ignores
// the kinds it holds nothing of.
type Change struct {
	Kind   string
	Tenant TenantID
	ID     string
}

// Change kinds.
const (
	ChangeClient = "client"
	ChangeUser   = "user"
	ChangeTenant = "tenant"
	ChangeKeys   = "keys"
	ChangeHook   = "hook"
	ChangeAll    = "all"
)

// ChangeFeed is implemented by stores that tell their caches' owners of
// committed changes: on PostgreSQL those of every node (LISTEN/NOTIFY), on
// SQLite those of this process. fn runs after the change has committed,
// on a goroutine of the store's; it must be quick and must not call back
// into the store.
type ChangeFeed interface {
	OnChange(fn func(Change))
}
