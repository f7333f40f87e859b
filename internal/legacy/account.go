package legacy

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

func actorFor(conn *store.Connection) events.Actor {
	return events.Actor{Type: "system", ID: "legacy:" + conn.Name}
}

// adopt creates the account of a legacy profile here and links it to conn
// (the link is what marks who owns it). Errors: *conflictError when the
// profile cannot become an account here.
func (s *Service) adopt(ctx context.Context, conn *store.Connection, p *Profile) (*store.User, *store.Identity, error) {
	ids := s.Store.Connections().Identities()
	if _, err := ids.GetIdentityBySubject(ctx, conn.Tenant, conn.ID, p.Subject); err == nil {
		// Linked already, under identifiers that no longer name it here.
		return nil, nil, &conflictError{reason: "subject_linked", err: errors.New("subject linked to another account")}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	u, err := s.Directory.CreateUser(ctx, actorFor(conn), conn.Tenant, directory.NewUser{
		Email: p.Email, Username: p.Username, GivenName: p.GivenName, FamilyName: p.FamilyName,
		EmailVerified: p.EmailVerified,
	})
	if err != nil {
		return nil, nil, classify(err)
	}
	id, err := s.link(ctx, conn, u.ID, p)
	if err != nil {
		// Without its link the account would be nobody's: take it back.
		if derr := s.Store.Users().DeleteUser(ctx, conn.Tenant, u.ID); derr != nil {
			s.Log.ErrorContext(ctx, "legacy: removing an unlinked account", "err", derr)
		}
		return nil, nil, err
	}
	return u, id, nil
}

// classify turns the directory's refusals of a profile into a
// *conflictError; other errors pass unchanged.
func classify(err error) error {
	var ve *valid.Error
	var vc *valid.Conflict
	switch {
	case errors.As(err, &vc):
		return &conflictError{reason: "identifier_taken", err: err}
	case errors.As(err, &ve):
		return &conflictError{reason: "profile_invalid", err: err}
	}
	return err
}

func (s *Service) link(ctx context.Context, conn *store.Connection, userID string, p *Profile) (*store.Identity, error) {
	id := &store.Identity{ID: uuid.Must(uuid.NewV7()).String(), Tenant: conn.Tenant, UserID: userID,
		ConnectionID: conn.ID, Subject: p.Subject, Email: p.Email, CreatedAt: s.now()}
	id.LastLoginAt = id.CreatedAt
	if err := s.Store.Connections().Identities().CreateIdentity(ctx, id); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &conflictError{reason: "subject_linked", err: err}
		}
		return nil, err
	}
	return id, nil
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// signedIn records a login the legacy store accepted. Migrating, the
// password is hashed here (argon2id) and the account is migrated: it has
// a password of its own, so the legacy store is not asked again. The
// tenant's password policy is not applied: the person did not choose the
// password now, and refusing it would strand them mid-migration.
// Federating, no password is kept here.
func (s *Service) signedIn(ctx context.Context, conn *store.Connection, st connection.Settings, u *store.User, id *store.Identity, p *Profile, password string, now time.Time) (*store.User, error) {
	if u.Status != store.UserActive {
		return nil, directory.ErrInvalidCredentials
	}
	at := now.UTC().Truncate(time.Microsecond)
	hash := ""
	if st.Mode != connection.ModeFederate {
		var err error
		if hash, err = s.Directory.Hasher.Hash(password); err != nil {
			return nil, err
		}
	}
	// The old hash is "": of two concurrent first logins one sets it.
	if err := s.Store.Users().RecordLogin(ctx, conn.Tenant, u.ID, at, "", hash); err != nil {
		return nil, err
	}
	if err := s.Store.Connections().Identities().TouchIdentity(ctx, conn.Tenant, id.ID, at, p.Email, nil); err != nil {
		return nil, err
	}
	u.LastLoginAt = &at
	if hash != "" {
		u.PasswordHash = hash
		err := s.Audit.Record(ctx, s.Store, actorFor(conn), events.Entry{Tenant: conn.Tenant, Action: "user.migrated",
			TargetType: "user", TargetID: u.ID, Changes: events.Changes{
				"connection": {After: conn.Name}, "password": {Before: nil, After: "(set)"}}})
		if err != nil {
			return nil, err
		}
	}
	return u, nil
}
