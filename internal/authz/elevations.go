package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// ElevationRequest is a user's request to activate a privileged role.
type ElevationRequest struct {
	Role     string `json:"role"`
	Reason   string `json:"reason"`
	Duration string `json:"duration"`
	// SessionID names the user's own browser session for self-activation
	// when the caller (the API) does not hold the session itself.
	SessionID string `json:"session_id,omitempty"`
}

// Elevation states as shown: an approved elevation reads "active" until it
// expires, then "expired".
const (
	StateActive  = "active"
	StateExpired = "expired"
)

// State is e's state at now.
func State(e *store.Elevation, now time.Time) string {
	if e.Status == store.ElevationApproved {
		if now.Before(e.ExpiresAt) {
			return StateActive
		}
		return StateExpired
	}
	return e.Status
}

// RequestElevation asks for the role on behalf of userID. The user must be
// eligible (hold the privileged role by assignment, directly or through a
// group) and give a reason and a duration no longer than the role's
// max_duration. Under the self_mfa policy the elevation is active at once
// when sess (the user's own live session) shows an MFA login at most five
// minutes old, and refused otherwise; under the approvers policy it waits
// for an approver. Errors: *valid.Error, *Refused, store.ErrNotFound (no
// such user).
func (s *Service) RequestElevation(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string, in ElevationRequest, sess *store.Session) (*store.Elevation, error) {
	var c valid.Collector
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		c.Add("reason", "required", "Say why the elevation is needed.")
	}
	checkText(&c, "reason", in.Reason, maxReason)
	var dur time.Duration
	if in.Duration == "" {
		c.Add("duration", "required", `duration is required, such as "1h".`)
	} else {
		dur = parseDuration(&c, "duration", in.Duration, maxLongestGrant)
	}
	if in.SessionID != "" && !idRE.MatchString(in.SessionID) {
		c.Add("session_id", "invalid", "session_id is a session id.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	var out *store.Elevation
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Users().GetUser(ctx, tenant, userID); err != nil {
			return err
		}
		r, err := resolveRole(ctx, tx, tenant, in.Role)
		if err != nil {
			return err
		}
		if !r.Privileged {
			return refuse("not_privileged", fmt.Sprintf("Role %q is not privileged: it is active by assignment.", r.Name))
		}
		if dur > r.MaxDuration {
			return valid.Field("duration", "out_of_range", fmt.Sprintf("Role %q allows at most %s.", r.Name, r.MaxDuration))
		}
		if ok, err := eligible(ctx, tx, tenant, userID, r.ID, s.now()); err != nil {
			return err
		} else if !ok {
			return refuse("not_eligible", fmt.Sprintf("The user is not eligible for role %q.", r.Name))
		}
		now := s.now()
		e := &store.Elevation{ID: newID(), Tenant: tenant, RoleID: r.ID, UserID: userID, Reason: reason, Duration: dur,
			Status: store.ElevationPending, RequestedAt: now}
		if r.Approval == store.ApprovalSelfMFA {
			if sess == nil && idRE.MatchString(in.SessionID) {
				// Unknown, ended and other users' sessions all fail the
				// step-up alike: the refusal does not tell which.
				got, err := tx.OAuth().Sessions().GetSession(ctx, tenant, in.SessionID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				sess = got
			}
			if err := freshStepUp(sess, userID, now); err != nil {
				return err
			}
			e.Status, e.DecidedBy, e.DecidedAt, e.ExpiresAt = store.ElevationApproved, userID, now, now.Add(dur)
		}
		if err := tx.Authz().Elevations().CreateElevation(ctx, e); err != nil {
			return err
		}
		out = e
		action := "elevation.request"
		if e.Status == store.ElevationApproved {
			action = "elevation.self_activate"
		}
		return s.record(ctx, tx, actor, tenant, action, "elevation", e.ID, events.Diff(nil, elevationFields(e, r)))
	})
	return out, err
}

// freshStepUp demands sess be the user's live session with an MFA login
// within stepUpMaxAge of now.
func freshStepUp(sess *store.Session, userID string, now time.Time) error {
	switch {
	case sess == nil || sess.UserID != userID || sess.RevokedAt != nil || !now.Before(sess.ExpiresAt):
		return refuse("step_up_required", "Self-activation needs the user's own session with a fresh MFA step-up.")
	case !hasMFA(sess.AMR):
		return refuse("step_up_required", "Self-activation needs a multi-factor login; this session used "+
			strings.Join(sess.AMR, ", ")+".")
	case now.Sub(sess.AuthTime) > stepUpMaxAge:
		return refuse("step_up_required", fmt.Sprintf("Self-activation needs an MFA step-up within the last %s.", stepUpMaxAge))
	}
	return nil
}

// eligible reports whether the user holds role by assignment now.
func eligible(ctx context.Context, tx store.Repos, tenant store.TenantID, userID, roleID string, now time.Time) (bool, error) {
	gs, err := tx.Authz().Roles().UserGrants(ctx, tenant, userID, now)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(gs, func(g store.Grant) bool { return g.Role.ID == roleID && g.ElevationID == "" }), nil
}

func elevationFields(e *store.Elevation, r *store.Role) map[string]any {
	m := map[string]any{"role": r.Name, "role_id": r.ID, "user_id": e.UserID, "reason": e.Reason,
		"duration": e.Duration.String(), "status": e.Status}
	if e.DecidedBy != "" {
		m["decided_by"] = e.DecidedBy
	}
	if !e.ExpiresAt.IsZero() {
		m["expires_at"] = e.ExpiresAt.Format(time.RFC3339)
	}
	if e.RevokedBy != "" {
		m["revoked_by"] = e.RevokedBy
	}
	return m
}

// Decide approves or denies a pending elevation as the caller: the
// decision is recorded as made by actor, never by someone the request
// names. A user (the account page) must be one of the role's named
// approvers and never the requester, and active; an API key (an
// administrator) decides as itself. An approval runs for the requested
// duration from now; the requester must still be eligible. Errors:
// *Refused, store.ErrNotFound.
func (s *Service) Decide(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, approve bool) (*store.Elevation, error) {
	approverID := actorName(actor)
	byUser := actor.Type == "user"
	if byUser {
		approverID = actor.ID
	}
	if approverID == "" || actor.Type == "" {
		return nil, refuse("not_approver", "An elevation is decided by a signed-in approver or an API key.")
	}
	var out *store.Elevation
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		cur, err := tx.Authz().Elevations().GetElevation(ctx, tenant, id)
		if err != nil {
			return err
		}
		r, err := tx.Authz().Roles().GetRole(ctx, tenant, cur.RoleID)
		if err != nil {
			return err
		}
		if r.Approval != store.ApprovalApprovers {
			return refuse("not_approver", fmt.Sprintf("Role %q is not granted by approvers.", r.Name))
		}
		if byUser {
			if approverID == cur.UserID {
				return refuse("self_approval", "A user cannot approve or deny their own elevation.")
			}
			if !slices.Contains(r.Approvers, approverID) {
				return refuse("not_approver", fmt.Sprintf("You are not an approver of role %q.", r.Name))
			}
			if a, err := tx.Users().GetUser(ctx, tenant, approverID); err != nil || a.Status != store.UserActive {
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				return refuse("not_approver", "The approver is not an active user.")
			}
		}
		now := s.now()
		if approve {
			ok, err := eligible(ctx, tx, tenant, cur.UserID, r.ID, now)
			if err != nil {
				return err
			}
			if !ok {
				return conflict("not_eligible", "The requester is no longer eligible for the role.")
			}
		}
		e, err := tx.Authz().Elevations().UpdateElevation(ctx, tenant, id, func(e *store.Elevation) error {
			if e.Status != store.ElevationPending {
				return conflict("not_pending", "The elevation was decided already: it is "+e.Status+".")
			}
			if approve && now.Sub(e.RequestedAt) > pendingMaxAge {
				return conflict("stale_request", fmt.Sprintf("The request is older than %s; the user requests again.", pendingMaxAge))
			}
			e.DecidedBy, e.DecidedAt, e.Status = approverID, now, store.ElevationDenied
			if approve {
				e.Status, e.ExpiresAt = store.ElevationApproved, now.Add(e.Duration)
			}
			return nil
		})
		if err != nil {
			return err
		}
		out = e
		action := "elevation.deny"
		if approve {
			action = "elevation.approve"
		}
		return s.record(ctx, tx, actor, tenant, action, "elevation", id, events.Diff(elevationFields(cur, r), elevationFields(e, r)))
	})
	return out, err
}

// Revoke ends an elevation early (or withdraws a pending one), and
// revokes the user's access tokens that may carry its role. by names
// who revoked it in the record ("" for the calling actor). Errors:
// *Refused when it has ended already, store.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, actor events.Actor, tenant store.TenantID, id, by string) (*store.Elevation, error) {
	if by == "" {
		by = actorName(actor)
	}
	var out *store.Elevation
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before *store.Elevation
		now := s.now()
		e, err := tx.Authz().Elevations().UpdateElevation(ctx, tenant, id, func(e *store.Elevation) error {
			c := *e
			before = &c
			if st := State(e, now); st != StateActive && st != store.ElevationPending {
				return conflict("not_active", "The elevation is "+st+": there is nothing to revoke.")
			}
			e.Status, e.RevokedBy, e.RevokedAt = store.ElevationRevoked, by, now
			return nil
		})
		if err != nil {
			return err
		}
		r, err := tx.Authz().Roles().GetRole(ctx, tenant, e.RoleID)
		if err != nil {
			return err
		}
		if before.Status == store.ElevationApproved {
			// Tokens that carry the role expire by the elevation's end
			// (see TokenClaims): those of the user are revoked, so
			// introspection answers inactive. A refresh evaluates the
			// roles again and leaves the role out.
			if err := tx.OAuth().Tokens().RevokeUserAccessTokens(ctx, tenant, e.UserID, before.ExpiresAt); err != nil {
				return err
			}
		}
		out = e
		return s.record(ctx, tx, actor, tenant, "elevation.revoke", "elevation", id,
			events.Diff(elevationFields(before, r), elevationFields(e, r)))
	})
	return out, err
}

// GetElevation answers store.ErrNotFound when id is not an elevation of tenant.
func (s *Service) GetElevation(ctx context.Context, tenant store.TenantID, id string) (*store.Elevation, error) {
	return s.Store.Authz().Elevations().GetElevation(ctx, tenant, id)
}

// ListElevations answers elevations matching q.
func (s *Service) ListElevations(ctx context.Context, tenant store.TenantID, q store.ElevationQuery) ([]store.Elevation, error) {
	return s.Store.Authz().Elevations().ListElevations(ctx, tenant, q)
}

// Clock answers the service's now (the API shows elevation states by it).
func (s *Service) Clock() time.Time { return s.now() }
