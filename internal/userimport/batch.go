package userimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// errRollback ends a dry run's transaction after its checks.
var errRollback = errors.New("dry run")

// errUnchanged ends an update that would write what is already stored.
var errUnchanged = errors.New("unchanged")

// prepared is a record turned into the user it creates, with what else it
// brings (resolved to ids where they must already exist).
type prepared struct {
	rec   Record
	user  store.User
	roles []string // role ids
	conns []string // connection ids, parallel to rec.Identities
	totp  *store.Factor
}

// writer writes batches of one run; it caches the tenant's groups, roles
// and connections by name.
type writer struct {
	im     *Importer
	spec   Spec
	groups map[string]string // name -> id; nil until loaded
	roles  map[string]string
	conns  map[string]string
	// schema is the tenant's profile schema; nil until loaded.
	schema *profileschema.Schema
}

func newWriter(im *Importer, spec Spec) *writer {
	return &writer{im: im, spec: spec, roles: map[string]string{}, conns: map[string]string{}}
}

func (w *writer) prepare(ctx context.Context, r Record) (prepared, error) {
	now := w.im.now()
	u := store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: w.spec.Tenant,
		Email: r.Email, EmailNorm: directory.NormalizeEmail(r.Email), EmailVerified: r.EmailVerified,
		Username: r.Username, UsernameNorm: directory.NormalizeUsername(r.Username),
		GivenName: r.GivenName, FamilyName: r.FamilyName, Phone: r.Phone, PhoneVerified: r.PhoneVerified,
		Locale: r.Locale, Status: store.UserActive, PasswordHash: r.PasswordHash,
		CreatedAt: r.CreatedAt, UpdatedAt: now, Attributes: json.RawMessage("{}")}
	if r.Disabled {
		u.Status = store.UserDisabled
	}
	if u.CreatedAt.IsZero() || u.CreatedAt.After(now) {
		u.CreatedAt = now
	}
	if !r.LastLoginAt.IsZero() {
		t := r.LastLoginAt
		u.LastLoginAt = &t
	}
	if len(r.Attributes) > 0 {
		raw, err := json.Marshal(r.Attributes)
		if err != nil {
			return prepared{}, errors.New("attributes are not a JSON object")
		}
		u.Attributes = raw
	}
	if r.Email == "" {
		return prepared{}, errors.New("email is required")
	}
	if err := directory.CheckImportedUser(&u); err != nil {
		return prepared{}, err
	}
	if err := w.checkProfile(ctx, u.Attributes); err != nil {
		return prepared{}, err
	}
	if u.PasswordHash != "" {
		if err := credential.ValidateHash(u.PasswordHash); err != nil {
			return prepared{}, fmt.Errorf("password_hash: not a supported hash (%s)", credential.Scheme(u.PasswordHash))
		}
	}
	p := prepared{rec: r, user: u}
	for _, g := range r.Groups {
		if err := directory.CheckImportedGroup(g); err != nil {
			return prepared{}, fmt.Errorf("group %q: %w", g, err)
		}
	}
	if r.TOTPSecret != "" {
		if w.im.MFA == nil {
			return prepared{}, errors.New("totp_secret: no sealing key configured")
		}
		f, err := w.im.MFA.ImportedTOTP(w.spec.Tenant, u.ID, r.TOTPSecret)
		if err != nil {
			return prepared{}, errors.New("totp_secret: not a base32 seed of 10 to 128 bytes")
		}
		p.totp = f
	}
	for _, name := range r.Roles {
		id, err := w.lookup(ctx, w.roles, name, func() (string, error) {
			ro, err := w.im.Store.Authz().Roles().GetRoleByName(ctx, w.spec.Tenant, name)
			if err != nil {
				return "", err
			}
			return ro.ID, nil
		})
		if err != nil {
			return prepared{}, fmt.Errorf("role %q: %w", name, err)
		}
		p.roles = append(p.roles, id)
	}
	for _, ident := range r.Identities {
		id, err := w.lookup(ctx, w.conns, ident.Connection, func() (string, error) {
			c, err := w.im.Store.Connections().Connections().GetConnectionByName(ctx, w.spec.Tenant, ident.Connection)
			if err != nil {
				return "", err
			}
			return c.ID, nil
		})
		if err != nil || ident.Subject == "" {
			return prepared{}, fmt.Errorf("linked identity at %q: no such connection in the tenant", ident.Connection)
		}
		p.conns = append(p.conns, id)
	}
	return p, nil
}

func (w *writer) lookup(ctx context.Context, cache map[string]string, name string, get func() (string, error)) (string, error) {
	if id, ok := cache[name]; ok {
		return id, nil
	}
	id, err := get()
	if errors.Is(err, store.ErrNotFound) {
		return "", errors.New("does not exist in the tenant")
	}
	if err != nil {
		return "", err
	}
	cache[name] = id
	return id, nil
}

// write commits one batch and the job's new counts and checkpoint.
func (w *writer) write(ctx context.Context, job *store.ImportJob, recs []Record, rerrs []store.ImportError, read int64) (*store.ImportJob, error) {
	next := *job
	next.Errors = append([]store.ImportError(nil), job.Errors...)
	reject := func(line int64, ext string, err error) {
		next.Failed++
		if len(next.Errors) < maxErrors {
			next.Errors = append(next.Errors, store.ImportError{Line: line, ExternalID: ext, Error: err.Error()})
		}
	}
	for _, e := range rerrs {
		reject(e.Line, "", errors.New(e.Error))
	}
	var preps []prepared
	for _, r := range recs {
		p, err := w.prepare(ctx, r)
		if err != nil {
			reject(r.Line, r.ExternalID, err)
			continue
		}
		preps = append(preps, p)
	}
	if w.groups == nil {
		if err := w.loadGroups(ctx); err != nil {
			return nil, err
		}
	}
	newGroups := map[string]string{}
	err := w.im.Store.InTx(ctx, func(tx store.Repos) error {
		var c counts
		if err := w.apply(ctx, tx, preps, newGroups, &c, reject); err != nil {
			return err
		}
		next.Created += c.created
		next.Updated += c.updated
		next.Skipped += c.skipped
		next.Checkpoint += read
		if w.spec.DryRun {
			return errRollback
		}
		return saveCounts(ctx, tx, &next)
	})
	if errors.Is(err, errRollback) && w.spec.persisted() {
		err = saveCounts(ctx, w.im.Store, &next)
	}
	if err != nil && !errors.Is(err, errRollback) {
		return nil, err
	}
	if !w.spec.DryRun {
		maps.Copy(w.groups, newGroups)
	}
	next.UpdatedAt = w.im.now()
	return &next, nil
}

// saveCounts writes the job's counts, errors and checkpoint.
func saveCounts(ctx context.Context, repos store.Repos, next *store.ImportJob) error {
	_, err := repos.Imports().UpdateImportJob(ctx, next.Tenant, next.ID, func(j *store.ImportJob) error {
		j.Created, j.Updated, j.Skipped, j.Failed = next.Created, next.Updated, next.Skipped, next.Failed
		j.Checkpoint, j.Errors = next.Checkpoint, next.Errors
		return nil
	})
	return err
}

type counts struct{ created, updated, skipped int64 }

func (w *writer) loadGroups(ctx context.Context) error {
	w.groups = map[string]string{}
	p := store.Page{Limit: 1000}
	for range 10_000 {
		gs, err := w.im.Store.Groups().ListGroups(ctx, w.spec.Tenant, p)
		if err != nil {
			return err
		}
		for _, g := range gs {
			w.groups[g.Name] = g.ID
		}
		if len(gs) < p.Limit {
			return nil
		}
		p.After = gs[len(gs)-1].ID
	}
	return errors.New("too many groups")
}

// apply classifies the batch against what the tenant holds and writes it.
func (w *writer) apply(ctx context.Context, tx store.Repos, preps []prepared, newGroups map[string]string, c *counts, reject func(int64, string, error)) error {
	tenant := w.spec.Tenant
	var exts, emails, names []string
	for _, p := range preps {
		if p.rec.ExternalID != "" {
			exts = append(exts, p.rec.ExternalID)
		}
		emails = append(emails, p.user.EmailNorm)
		if p.user.UsernameNorm != "" {
			names = append(names, p.user.UsernameNorm)
		}
	}
	byExt, err := tx.Imports().ExternalIDs(ctx, tenant, exts)
	if err != nil {
		return err
	}
	byEmail, byName, err := tx.Imports().IdentifierOwners(ctx, tenant, emails, names)
	if err != nil {
		return err
	}
	var fresh, existing []prepared
	links := map[string]string{}
	seenEmail, seenName, seenExt := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range preps {
		u := &p.user
		switch {
		case p.rec.ExternalID != "" && seenExt[p.rec.ExternalID]:
			reject(p.rec.Line, p.rec.ExternalID, errors.New("external_id repeats an earlier record"))
			continue
		case seenEmail[u.EmailNorm] || u.UsernameNorm != "" && seenName[u.UsernameNorm]:
			reject(p.rec.Line, p.rec.ExternalID, errors.New("email or username repeats an earlier record"))
			continue
		}
		seenExt[p.rec.ExternalID], seenEmail[u.EmailNorm] = true, true
		if u.UsernameNorm != "" {
			seenName[u.UsernameNorm] = true
		}
		owner := byExt[p.rec.ExternalID]
		if owner == "" {
			owner = byEmail[u.EmailNorm]
			if owner == "" && u.UsernameNorm != "" {
				owner = byName[u.UsernameNorm]
			}
			if owner != "" && p.rec.ExternalID != "" && w.spec.OnConflict == OnConflictUpdate {
				links[p.rec.ExternalID] = owner
			}
		}
		if owner == "" {
			fresh = append(fresh, p)
			if p.rec.ExternalID != "" {
				links[p.rec.ExternalID] = u.ID
			}
			continue
		}
		switch w.spec.OnConflict {
		case OnConflictFail:
			return fmt.Errorf("line %d: the user exists (on-conflict fail)", p.rec.Line)
		case OnConflictSkip:
			c.skipped++
		default:
			u.ID = owner
			existing = append(existing, p)
		}
	}
	if err := tx.Users().InsertUsers(ctx, tenant, usersOf(fresh)); err != nil {
		return fmt.Errorf("inserting users: %w", err)
	}
	c.created += int64(len(fresh))
	if len(links) > 0 {
		if err := tx.Imports().LinkExternalIDs(ctx, tenant, links); err != nil {
			return err
		}
	}
	for _, p := range existing {
		switch err := w.update(ctx, tx, p); {
		case errors.Is(err, errUnchanged):
			c.skipped++
			continue
		case errors.Is(err, store.ErrConflict):
			reject(p.rec.Line, p.rec.ExternalID, errors.New("email or username belongs to another user"))
			continue
		case err != nil:
			return err
		}
		c.updated++
	}
	for _, p := range append(fresh, existing...) {
		if err := w.extras(ctx, tx, p, newGroups); err != nil {
			return fmt.Errorf("line %d: %w", p.rec.Line, err)
		}
	}
	return nil
}

func usersOf(ps []prepared) []store.User {
	out := make([]store.User, len(ps))
	for i := range ps {
		out[i] = ps[i].user
	}
	return out
}

// update writes the record's fields over an existing user; errUnchanged
// when they are what is stored.
func (w *writer) update(ctx context.Context, tx store.Repos, p prepared) error {
	n := p.user
	var before, after store.User
	_, err := tx.Users().UpdateUser(ctx, w.spec.Tenant, n.ID, func(u *store.User) error {
		before = *u
		u.Email, u.EmailNorm, u.EmailVerified = n.Email, n.EmailNorm, n.EmailVerified
		u.Username, u.UsernameNorm = n.Username, n.UsernameNorm
		u.GivenName, u.FamilyName, u.Phone, u.PhoneVerified, u.Status = n.GivenName, n.FamilyName, n.Phone, n.PhoneVerified, n.Status
		if n.PasswordHash != "" {
			u.PasswordHash = n.PasswordHash
		}
		if len(p.rec.Attributes) > 0 {
			var attrs map[string]any
			if err := json.Unmarshal(u.Attributes, &attrs); err != nil || attrs == nil {
				attrs = map[string]any{}
			}
			maps.Copy(attrs, p.rec.Attributes)
			raw, err := json.Marshal(attrs)
			if err != nil {
				return err
			}
			u.Attributes = raw
		}
		if sameUser(&before, u) {
			return errUnchanged
		}
		u.UpdatedAt = w.im.now()
		after = *u
		return nil
	})
	if err != nil {
		return err
	}
	// What the directory does for the same change: a new address ends the
	// tickets mailed to the old one; a new password, or a user no longer
	// active, ends every session and what was issued under it.
	if after.EmailNorm != before.EmailNorm {
		for _, purpose := range directory.MailedTicketPurposes {
			if err := tx.SelfService().OneTimeTokens().RevokeUserTokens(ctx, w.spec.Tenant, n.ID, purpose); err != nil {
				return err
			}
		}
	}
	if after.PasswordHash != before.PasswordHash || (before.Status == store.UserActive && after.Status != store.UserActive) {
		return session.RevokeAll(ctx, tx, w.spec.Tenant, n.ID)
	}
	return nil
}

func sameUser(a, b *store.User) bool {
	return a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.UsernameNorm == b.UsernameNorm &&
		a.Username == b.Username && a.GivenName == b.GivenName && a.FamilyName == b.FamilyName &&
		a.Phone == b.Phone && a.PhoneVerified == b.PhoneVerified && a.Status == b.Status &&
		a.PasswordHash == b.PasswordHash && string(a.Attributes) == string(b.Attributes)
}

// extras writes a record's memberships, role assignments, TOTP factor and
// linked identities. What is there already stays (a second run adds
// nothing).
func (w *writer) extras(ctx context.Context, tx store.Repos, p prepared, newGroups map[string]string) error {
	tenant, uid := w.spec.Tenant, p.user.ID
	ignoreDup := func(err error) error {
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	for _, name := range p.rec.Groups {
		gid := w.groups[name]
		if gid == "" {
			gid = newGroups[name]
		}
		if gid == "" {
			g := &store.Group{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Name: name,
				CreatedAt: w.im.now(), UpdatedAt: w.im.now(), Version: 1}
			if err := tx.Groups().CreateGroup(ctx, g); err != nil {
				return fmt.Errorf("group %q: %w", name, err)
			}
			gid, newGroups[name] = g.ID, g.ID
		}
		if err := ignoreDup(tx.Groups().AddMember(ctx, tenant, gid, store.Member{Type: store.MemberUser, ID: uid})); err != nil {
			return fmt.Errorf("group %q: %w", name, err)
		}
	}
	for _, rid := range p.roles {
		a := &store.Assignment{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, RoleID: rid, UserID: uid, CreatedAt: w.im.now()}
		if err := ignoreDup(tx.Authz().Roles().Assign(ctx, a)); err != nil {
			return fmt.Errorf("role: %w", err)
		}
	}
	for i, ident := range p.rec.Identities {
		in := &store.Identity{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, UserID: uid,
			ConnectionID: p.conns[i], Subject: ident.Subject, Email: ident.Email, CreatedAt: w.im.now()}
		if err := ignoreDup(tx.Connections().Identities().CreateIdentity(ctx, in)); err != nil {
			return fmt.Errorf("linked identity: %w", err)
		}
	}
	if p.totp != nil {
		fs, err := tx.MFA().Factors().ListFactors(ctx, tenant, uid)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if f.Kind == store.FactorTOTP {
				return nil // enrolled already: a second run adds no second seed
			}
		}
		f := *p.totp
		f.UserID = uid
		if err := tx.MFA().Factors().CreateFactor(ctx, &f); err != nil {
			return err
		}
	}
	return nil
}
