package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Eraser is a service's part of an erasure: it deletes (or anonymises,
// where the law asks to keep proof) what it holds about the user through
// repos, inside the erasure's transaction. Its error aborts the erasure,
// which then changes nothing. Rows in tables with tenant_id and user_id
// columns are deleted by the store anyway; an Eraser is for what that
// does not cover (rows keyed otherwise, counts to keep, files).
type Eraser interface {
	EraseUser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error
}

// Section is a service's part of an access export: a named JSON value
// with what it holds about the user (never secrets). Its error fails the
// export.
type Section interface {
	// SectionName is the key of the section in the export document.
	SectionName() string
	ExportUser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) (any, error)
}

// HoldError is the refusal of an erasure while a legal hold is in place.
type HoldError struct{ Hold store.LegalHold }

func (e *HoldError) Error() string {
	msg := "privacy: the user is under a legal hold"
	if e.Hold.Reason != "" {
		msg += " (" + e.Hold.Reason + ")"
	}
	return msg + "; lift the hold before erasing"
}

// ErrHold matches a *HoldError with errors.Is.
var ErrHold = errors.New("privacy: legal hold")

// Is makes errors.Is(err, ErrHold) true for a HoldError.
func (e *HoldError) Is(target error) bool { return target == ErrHold }

// SessionEnder ends a user's sessions with their logout notices
// (session.Service).
type SessionEnder interface {
	EndAll(ctx context.Context, tenant store.TenantID, userID string) error
}

// MailForgetter removes mail addressed to someone outside the queue:
// the development file sender's .eml files (mail.FileSender).
type MailForgetter interface {
	Forget(addrs []string) (int, error)
}

// Service runs erasures, exports, data-subject requests and retention.
type Service struct {
	Store    store.Store
	Shredder *Shredder
	Audit    *events.Recorder
	Sessions SessionEnder
	// Files removes development mail files to an erased address; nil
	// when mail goes out by SMTP.
	Files MailForgetter
	// Erasers and Sections are the other services' parts, run in order.
	Erasers  []Eraser
	Sections []Section
	// Export's sources (export.go).
	Groups GroupLister
	Log    *slog.Logger
	Now    func() time.Time
	// Notify sends the retention notice (retention.go).
	Notify RetentionNotifier
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// emails lists every address the user is known by: the primary one, the
// SCIM emails in its attributes and those of its linked identities,
// normalised and without duplicates.
func emails(ctx context.Context, repos store.Repos, u *store.User) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		e = strings.ToLower(strings.TrimSpace(e))
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	add(u.Email)
	add(u.EmailNorm)
	var attrs struct {
		SCIM struct {
			Emails []struct {
				Value any `json:"value"`
			} `json:"emails"`
		} `json:"scim"`
	}
	_ = json.Unmarshal(u.Attributes, &attrs) // other shapes hold no emails
	for _, e := range attrs.SCIM.Emails {
		if v, ok := e.Value.(string); ok {
			add(v)
		}
	}
	ids, err := repos.Connections().Identities().ListUserIdentities(ctx, u.Tenant, u.ID)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		add(id.Email)
	}
	return out, nil
}

// Erase erases the user: its sessions end (with their logout notices),
// then in one transaction the other services' Erasers run, the store
// deletes every row about the user and destroys its data key (the audit
// entries about it then read [erased]), and the erasure is audited as
// user.erased with counts only. After the commit, development mail files
// to its addresses are removed and the freed storage reclaimed.
// Errors: store.ErrNotFound for an unknown user, a *HoldError (ErrHold)
// while a legal hold is in place.
func (s *Service) Erase(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) (store.EraseCounts, error) {
	if _, err := s.Store.Users().GetUser(ctx, tenant, userID); err != nil {
		return store.EraseCounts{}, err
	}
	if err := s.checkHold(ctx, s.Store, tenant, userID); err != nil {
		return store.EraseCounts{}, err
	}
	if s.Sessions != nil {
		if err := s.Sessions.EndAll(ctx, tenant, userID); err != nil {
			return store.EraseCounts{}, err
		}
	}
	var counts store.EraseCounts
	var addrs []string
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		u, err := tx.Users().GetUser(ctx, tenant, userID)
		if err != nil {
			return err
		}
		// Again inside the transaction: a hold placed meanwhile wins.
		if err := s.checkHold(ctx, tx, tenant, userID); err != nil {
			return err
		}
		if addrs, err = emails(ctx, tx, u); err != nil {
			return err
		}
		for _, e := range s.Erasers {
			if err := e.EraseUser(ctx, tx, tenant, userID); err != nil {
				return fmt.Errorf("privacy: erase: %w", err)
			}
		}
		if counts, err = tx.Privacy().EraseUser(ctx, tenant, userID, addrs); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{
			Tenant: tenant, Action: "user.erased", TargetType: "user", TargetID: userID,
			Changes: events.Changes{
				"rows":        {After: counts.Users + counts.Other + counts.Throttle},
				"mail_queued": {After: counts.MailQueued},
				"data_key":    {Before: "(set)", After: "(destroyed)"},
			},
		})
	})
	if err != nil {
		return store.EraseCounts{}, err
	}
	s.afterErase(ctx, tenant, userID, addrs, counts.Tables)
	return counts, nil
}

// afterErase does what cannot share the transaction: files on disk and
// VACUUM. The erasure stands whatever happens here; failures are logged
// (by user id, never address) for the operator to repeat.
func (s *Service) afterErase(ctx context.Context, tenant store.TenantID, userID string, addrs, tables []string) {
	if s.Files != nil {
		if _, err := s.Files.Forget(addrs); err != nil && s.Log != nil {
			s.Log.ErrorContext(ctx, "privacy: remove mail files of an erased user", "tenant", tenant, "user", userID, "err", err)
		}
	}
	if err := s.Store.Privacy().Reclaim(ctx, tables); err != nil && s.Log != nil {
		s.Log.ErrorContext(ctx, "privacy: reclaim storage after an erasure", "tenant", tenant, "user", userID, "err", err)
	}
}

func (s *Service) checkHold(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	h, err := repos.Privacy().Hold(ctx, tenant, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return &HoldError{Hold: *h}
}

// SetHold places (on) or lifts (off) the user's legal hold, audited as
// user.legal_hold_set or user.legal_hold_lifted. Lifting a hold that is
// not there is not an error. ErrNotFound for an unknown user.
func (s *Service) SetHold(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string, on bool, reason string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Users().GetUser(ctx, tenant, userID); err != nil {
			return err
		}
		_, err := tx.Privacy().Hold(ctx, tenant, userID)
		had := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if had == on {
			return nil // nothing changes, nothing to audit
		}
		action := "user.legal_hold_lifted"
		if on {
			action = "user.legal_hold_set"
			err = tx.Privacy().SetHold(ctx, &store.LegalHold{Tenant: tenant, UserID: userID, Reason: reason,
				SetBy: actor.Type + ":" + actor.ID, SetAt: s.now()})
		} else {
			err = tx.Privacy().LiftHold(ctx, tenant, userID)
		}
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action, TargetType: "user", TargetID: userID,
			Changes: events.Changes{"legal_hold": {Before: had, After: on}}})
	})
}

// Hold answers whether the user is under a legal hold.
func (s *Service) Hold(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	_, err := s.Store.Privacy().Hold(ctx, tenant, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// OpenAudit opens the sealed personal data of es in place for a reader
// (Shredder.Open); a nil Service or one without a Shredder leaves them.
func (s *Service) OpenAudit(ctx context.Context, es []store.AuditEntry) error {
	if s == nil || s.Shredder == nil {
		return nil
	}
	return s.Shredder.Open(ctx, s.Store, es)
}
