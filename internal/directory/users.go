package directory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/ident"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// NewUser is the input of CreateUser. Password, when set, is checked against
// the tenant's policy and only its hash is stored.
type NewUser struct {
	Email         string          `json:"email"`
	Password      *string         `json:"password,omitempty"`
	Username      string          `json:"username,omitempty"`
	GivenName     string          `json:"given_name,omitempty"`
	FamilyName    string          `json:"family_name,omitempty"`
	Phone         string          `json:"phone,omitempty"`
	Locale        string          `json:"locale,omitempty"`
	Status        string          `json:"status,omitempty"`
	EmailVerified bool            `json:"email_verified,omitempty"`
	PhoneVerified bool            `json:"phone_verified,omitempty"`
	Attributes    json.RawMessage `json:"attributes,omitempty"`
	// EmailVerifiedUpstream marks EmailVerified as an upstream's word
	// only (store.User); set by social login, never from input.
	EmailVerifiedUpstream bool `json:"-"`
}

// UserPatch changes the fields that are set. Attributes is an RFC 7396 merge
// patch (null removes a key). Password "" removes the password.
type UserPatch struct {
	Email         *string         `json:"email,omitempty"`
	Password      *string         `json:"password,omitempty"`
	Username      *string         `json:"username,omitempty"`
	GivenName     *string         `json:"given_name,omitempty"`
	FamilyName    *string         `json:"family_name,omitempty"`
	Phone         *string         `json:"phone,omitempty"`
	Locale        *string         `json:"locale,omitempty"`
	Status        *string         `json:"status,omitempty"`
	EmailVerified *bool           `json:"email_verified,omitempty"`
	PhoneVerified *bool           `json:"phone_verified,omitempty"`
	Attributes    json.RawMessage `json:"attributes,omitempty"`
}

// checkUser validates u; identifiers new or changed since prev (nil for a
// new user) meet the stricter rules of a value being set, so a user whose
// address predates them can still be edited.
func checkUser(c *valid.Collector, u, prev *store.User) {
	if prev == nil || u.Email != prev.Email {
		checkNewEmail(c, "email", u.Email)
	} else {
		checkEmail(c, "email", u.Email)
	}
	if prev == nil || u.Username != prev.Username {
		checkNewUsername(c, u.Username)
	} else {
		checkUsername(c, u.Username)
	}
	checkText(c, "given_name", u.GivenName, maxName)
	checkText(c, "family_name", u.FamilyName, maxName)
	checkPhone(c, u.Phone)
	checkLocale(c, u.Locale)
	if !u.Status.Valid() {
		c.Add("status", "invalid", "Status is one of active, disabled, locked.")
	}
}

// ReasonBreached is the field code of a password refused because it is in
// the breach corpus.
const ReasonBreached = "breached"

// checkPassword checks pw against the tenant policy for u, adding the
// policy's (or the breach corpus's, when set) reason to c. It does not
// hash: see hashPassword.
func (s *Service) checkPassword(ctx context.Context, repos store.Repos, c *valid.Collector, u *store.User, pw string) error {
	if pw == "" {
		return nil
	}
	pol, err := s.policy(ctx, repos, u.Tenant)
	if err != nil {
		return err
	}
	if err := pol.Check(pw, u.Email, u.Username, u.GivenName, u.FamilyName); err != nil {
		var pe *credential.PolicyError
		if errors.As(err, &pe) {
			c.Add("password", pe.Reason, pe.Message)
			return nil
		}
		return err
	}
	if s.Breached != nil {
		breached, err := s.Breached.Contains(pw)
		if err != nil {
			return err
		}
		if breached {
			c.Add("password", ReasonBreached, "This password appeared in a data breach. Choose another one.")
			return nil
		}
	}
	return nil
}

// hashPassword checks pw against the policy for u and answers its hash
// ("" for an empty pw, which removes a password). It runs before any
// transaction opens and must never be called inside one: a hash takes
// tens of milliseconds, and a transaction holds its locks (SQLite's one
// write lock) for as long as it is open, so every other write would queue
// behind the hash. The transaction checks the policy again (cheaply)
// against the record it writes.
func (s *Service) hashPassword(ctx context.Context, u *store.User, pw string) (string, error) {
	if pw == "" {
		return "", nil
	}
	var c valid.Collector
	if err := s.checkPassword(ctx, s.Store, &c, u, pw); err != nil {
		return "", err
	}
	if err := c.Err(); err != nil {
		return "", err
	}
	return s.Hasher.Hash(pw)
}

// CreateUser validates in and stores a new user with its audit entry.
// Errors: *valid.Error, *valid.Conflict, store.ErrNotFound (no tenant).
func (s *Service) CreateUser(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewUser) (*store.User, error) {
	now := s.now()
	u := &store.User{
		ID: newID(), Tenant: tenant, Email: in.Email, EmailNorm: NormalizeEmail(in.Email),
		Username: in.Username, UsernameNorm: NormalizeUsername(in.Username),
		GivenName: in.GivenName, FamilyName: in.FamilyName, Phone: in.Phone, Locale: in.Locale,
		Status: store.UserStatus(in.Status), EmailVerified: in.EmailVerified, PhoneVerified: in.PhoneVerified,
		EmailVerifiedUpstream: in.EmailVerified && in.EmailVerifiedUpstream,
		Attributes:            in.Attributes, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if u.Status == "" {
		u.Status = store.UserActive
	}
	if len(u.Attributes) == 0 || string(u.Attributes) == "null" {
		u.Attributes = json.RawMessage("{}")
	}
	sc, err := profileSchema(ctx, s.Store, tenant)
	if err != nil {
		return nil, err
	}
	var c valid.Collector
	checkUser(&c, u, nil)
	checkAttributes(&c, u.Attributes)
	checkProfile(&c, sc, u.Attributes, nil)
	if in.Password != nil && *in.Password == "" {
		c.Add("password", "required", "A password cannot be empty; leave it out to create a user without one.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if in.Password != nil {
		// Uniqueness first, so a taken address costs no hash; the
		// transaction checks it again and the unique indexes decide races.
		if err := s.checkUnique(ctx, s.Store, u, nil); err != nil {
			return nil, err
		}
		if u.PasswordHash, err = s.hashPassword(ctx, u, *in.Password); err != nil {
			return nil, err
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := s.checkUnique(ctx, tx, u, nil); err != nil {
			return err
		}
		if in.Password != nil {
			if err := s.checkPassword(ctx, tx, &c, u, *in.Password); err != nil {
				return err
			}
			if err := c.Err(); err != nil {
				return err
			}
		}
		if err := tx.Users().CreateUser(ctx, u); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{
			Tenant: tenant, Action: "user.create", TargetType: "user", TargetID: u.ID,
			Changes: events.Diff(nil, auditFields(u)),
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// checkUnique names the field that clashes, so the client learns which:
// taken by another user, or, for a value new since prev (nil for a new
// user), looking like another user's (equal confusable skeletons). The
// store's unique indexes still decide exact clashes under races.
func (s *Service) checkUnique(ctx context.Context, repos store.Repos, u, prev *store.User) error {
	selfID := ""
	if prev != nil {
		selfID = prev.ID
	}
	if o, err := repos.Users().GetUserByEmail(ctx, u.Tenant, u.EmailNorm); err == nil && o.ID != selfID {
		return &valid.Conflict{Field: "email", Cause: store.ErrConflict}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if u.UsernameNorm == "" {
		return checkLookalikes(ctx, repos, u, prev, selfID)
	}
	if o, err := repos.Users().GetUserByUsername(ctx, u.Tenant, u.UsernameNorm); err == nil && o.ID != selfID {
		return &valid.Conflict{Field: "username", Cause: store.ErrConflict}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// A username shaped like an email must not be another user's email:
	// sign-in looks up emails first, so the name would be unusable and
	// would read as that other person's.
	if strings.Contains(u.UsernameNorm, "@") {
		if o, err := repos.Users().GetUserByEmail(ctx, u.Tenant, u.UsernameNorm); err == nil && o.ID != selfID {
			return &valid.Conflict{Field: "username", Cause: store.ErrConflict}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return checkLookalikes(ctx, repos, u, prev, selfID)
}

// checkLookalikes refuses an email or username new since prev whose
// skeleton is another user's email or username skeleton.
func checkLookalikes(ctx context.Context, repos store.Repos, u, prev *store.User, selfID string) error {
	var before store.User
	if prev != nil {
		before = *prev
	}
	for _, f := range []struct{ field, value, before string }{
		{"email", u.Email, before.Email},
		{"username", u.Username, before.Username},
	} {
		if f.value == "" || f.value == f.before {
			continue
		}
		_, err := repos.Users().GetUserBySkeleton(ctx, u.Tenant, ident.Skeleton(f.value), selfID)
		if err == nil {
			return &valid.Conflict{Field: f.field, Cause: store.ErrConflict, Lookalike: true}
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// UserForEmail answers the user whose email is email or looks like it
// (equal confusable skeletons), store.ErrNotFound when there is none.
// Sign-up treats both alike, so a look-alike address tells a stranger no
// more than an address in use does.
func (s *Service) UserForEmail(ctx context.Context, tenant store.TenantID, email string) (*store.User, error) {
	u, err := s.Store.Users().GetUserByEmail(ctx, tenant, NormalizeEmail(email))
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.Store.Users().GetUserBySkeleton(ctx, tenant, ident.Skeleton(strings.TrimSpace(email)), "")
	}
	return u, err
}

// GetUser answers store.ErrNotFound when id is not a user of tenant.
func (s *Service) GetUser(ctx context.Context, tenant store.TenantID, id string) (*store.User, error) {
	return s.Store.Users().GetUser(ctx, tenant, id)
}

// UpdateUser applies p when version (if non-zero) is current.
// Errors: *valid.Error, *valid.Conflict, store.ErrNotFound, store.ErrPrecondition.
func (s *Service) UpdateUser(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p UserPatch) (*store.User, error) {
	var newHash string
	if p.Password != nil {
		h, err := s.patchHash(ctx, tenant, id, version, p)
		if err != nil {
			return nil, err
		}
		newHash = h
	}
	var out *store.User
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		var pwChanged, emailChanged bool
		sc, err := profileSchema(ctx, tx, tenant)
		if err != nil {
			return err
		}
		u, err := tx.Users().UpdateUser(ctx, tenant, id, func(u *store.User) error {
			if err := ifMatch(version, u.Version); err != nil {
				return err
			}
			before = auditFields(u)
			prev := *u
			var c valid.Collector
			oldEmail := u.EmailNorm
			applyPatch(&c, u, p)
			if len(p.Attributes) > 0 {
				checkProfile(&c, sc, u.Attributes, patchKeys(p.Attributes))
			}
			if emailChanged = u.EmailNorm != oldEmail; emailChanged {
				// A new address has no upstream's word behind it.
				u.EmailVerifiedUpstream = false
			}
			checkUser(&c, u, &prev)
			if err := c.Err(); err != nil {
				return err
			}
			if err := s.checkUnique(ctx, tx, u, &prev); err != nil {
				return err
			}
			if p.Password != nil {
				pwChanged = true
				if err := s.checkPassword(ctx, tx, &c, u, *p.Password); err != nil {
					return err
				}
				u.PasswordHash = newHash
			}
			return c.Err()
		})
		if err != nil {
			return err
		}
		changes := events.Diff(before, auditFields(u))
		if pwChanged {
			changes["password"] = events.Change{Before: "(redacted)", After: "(changed)"}
		}
		// A new password, or a user no longer active, ends every session
		// and what was issued under it.
		if pwChanged || (before["status"] == string(store.UserActive) && u.Status != store.UserActive) {
			if err := endSessions(ctx, tx, tenant, id); err != nil {
				return err
			}
		}
		if emailChanged {
			if err := revokeMailedTickets(ctx, tx, tenant, id); err != nil {
				return err
			}
		}
		out = u
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{
			Tenant: tenant, Action: "user.update", TargetType: "user", TargetID: id, Changes: changes,
		})
	})
	return out, err
}

// patchHash hashes the password of p before UpdateUser's transaction
// opens, checked against the user as p would leave it; a patch that the
// transaction would refuse (a stale version, invalid fields, a weak
// password) is refused here, before any hash is spent.
func (s *Service) patchHash(ctx context.Context, tenant store.TenantID, id string, version int64, p UserPatch) (string, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, id)
	if err != nil {
		return "", err
	}
	if err := ifMatch(version, u.Version); err != nil {
		return "", err
	}
	prev := *u
	var c valid.Collector
	applyPatch(&c, u, p)
	checkUser(&c, u, &prev)
	if err := c.Err(); err != nil {
		return "", err
	}
	return s.hashPassword(ctx, u, *p.Password)
}

func applyPatch(c *valid.Collector, u *store.User, p UserPatch) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if p.Email != nil {
		u.Email, u.EmailNorm = *p.Email, NormalizeEmail(*p.Email)
	}
	if p.Username != nil {
		u.Username, u.UsernameNorm = *p.Username, NormalizeUsername(*p.Username)
	}
	set(&u.GivenName, p.GivenName)
	set(&u.FamilyName, p.FamilyName)
	set(&u.Phone, p.Phone)
	set(&u.Locale, p.Locale)
	if p.Status != nil {
		u.Status = store.UserStatus(*p.Status)
	}
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	if p.PhoneVerified != nil {
		u.PhoneVerified = *p.PhoneVerified
	}
	if len(p.Attributes) > 0 {
		// A patch that does not parse is an error, never silently dropped.
		if merged, err := mergePatch(u.Attributes, p.Attributes); err != nil {
			c.Add("attributes", "invalid", "Attributes must be a JSON object.")
		} else {
			checkAttributes(c, p.Attributes)
			u.Attributes = merged
			checkAttributes(c, u.Attributes)
		}
	}
}

// DeleteUser removes the user and its memberships.
func (s *Service) DeleteUser(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		u, err := tx.Users().GetUser(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Users().DeleteUser(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{
			Tenant: tenant, Action: "user.delete", TargetType: "user", TargetID: id,
			Changes: events.Diff(auditFields(u), nil),
		})
	})
}

// SearchUsers answers a page of users matching q.
func (s *Service) SearchUsers(ctx context.Context, tenant store.TenantID, q store.UserQuery) ([]store.User, error) {
	var us []store.User
	err := s.read(ctx, func(r store.Repos) (err error) {
		us, err = r.Users().SearchUsers(ctx, tenant, q)
		return err
	})
	return us, err
}

// UserFor answers the user a login identifier names: by email, else by
// username (store.ErrNotFound when neither). Both paths cost the same
// lookups whether or not the account exists.
func (s *Service) UserFor(ctx context.Context, tenant store.TenantID, identifier string) (*store.User, error) {
	users := s.Store.Users()
	u, err := users.GetUserByEmail(ctx, tenant, NormalizeEmail(identifier))
	if errors.Is(err, store.ErrNotFound) {
		u, err = users.GetUserByUsername(ctx, tenant, NormalizeUsername(identifier))
	}
	return u, err
}

// Authenticate checks a password for the user named by identifier (email
// or username). Every failure is ErrInvalidCredentials and costs one hash
// verification, so neither the answer nor its timing tells whether the
// account exists. On success an outdated hash is upgraded and the login
// time recorded.
func (s *Service) Authenticate(ctx context.Context, tenant store.TenantID, identifier, password string) (*store.User, error) {
	users := s.Store.Users()
	u, err := s.UserFor(ctx, tenant, identifier)
	// The hash has its own span (tracing): the cost of a login is mostly
	// there, and it says nothing of whether the account exists.
	_, span := tracing.Start(ctx, "password.verify")
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		s.Hasher.VerifyDummy(password)
		span.End()
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		span.End()
		return nil, err
	}
	ok, rehash, err := s.Hasher.Verify(u.PasswordHash, password)
	if errors.Is(err, credential.ErrMalformedHash) {
		// Verify refuses a hash it cannot parse without hashing; spend
		// what any other failure costs so the time does not stand out.
		s.Hasher.VerifyDummy(password)
	} else if err != nil {
		span.End()
		return nil, err
	}
	span.End()
	if !ok || u.Status != store.UserActive {
		return nil, ErrInvalidCredentials
	}
	var newHash string
	if rehash {
		_, span := tracing.Start(ctx, "password.hash")
		newHash, err = s.Hasher.Hash(password)
		span.End()
		if err != nil {
			return nil, err
		}
	}
	now := s.now()
	// Not UpdateUser: a login is no edit and must not change the version
	// an administrator's If-Match names.
	if err := users.RecordLogin(ctx, tenant, u.ID, now, u.PasswordHash, newHash); err != nil {
		return nil, err
	}
	u.LastLoginAt = &now
	if newHash != "" {
		u.PasswordHash = newHash
	}
	return u, nil
}

// auditFields is what the audit log records of a user: never the hash.
func auditFields(u *store.User) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{
		"email": u.Email, "username": u.Username, "given_name": u.GivenName,
		"family_name": u.FamilyName, "phone": u.Phone, "locale": u.Locale,
		"status": string(u.Status), "email_verified": u.EmailVerified,
		"phone_verified": u.PhoneVerified, "attributes": json.RawMessage(u.Attributes),
		"has_password": u.PasswordHash != "",
	}
}

// MailedTicketPurposes are the one-time tokens mailed to a user's address
// that act for the account (reset, sign-in, verification, invitation,
// second-factor code, a notice's "this was not me" link, which starts a
// reset): a new address ends them all, so nothing mailed to the old one
// keeps working.
var MailedTicketPurposes = []string{store.PurposeResetPassword, store.PurposeMagicLink, store.PurposeVerifyEmail,
	store.PurposeInvitation, store.PurposeMFAEmailCode, notice.PurposeSecure}

func revokeMailedTickets(ctx context.Context, tx store.Repos, tenant store.TenantID, userID string) error {
	ots := tx.SelfService().OneTimeTokens()
	for _, p := range MailedTicketPurposes {
		if err := ots.RevokeUserTokens(ctx, tenant, userID, p); err != nil {
			return err
		}
	}
	return nil
}

// endSessions revokes the user's sessions and every token of the user.
func endSessions(ctx context.Context, tx store.Repos, tenant store.TenantID, userID string) error {
	return session.RevokeAll(ctx, tx, tenant, userID)
}
